/** The login command's exit codes; scripts branch on them, so each outcome has its own. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  accessDenied: 3,
  expired: 4,
  /** 128 + SIGINT, as shells report a process ended by Ctrl-C. */
  cancelled: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An expected failure: its message is the one line the user sees, with no stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.failure,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad command line: the usage text follows the message. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT.usage);
  }
}
