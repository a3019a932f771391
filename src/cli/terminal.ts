import { toString as qrToString } from 'qrcode';
import { printable, type DeviceAuthorization } from './device-flow.client';

const SPINNER_FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const SPINNER_TICK_MS = 80;
/** Without a TTY there is no spinner: a line now and then says the command is still waiting. */
const PLAIN_REMINDER_MS = 60_000;

/** stdout plus what it can do; everything the command prints goes through here. */
export class Terminal {
  readonly tty: boolean;
  private readonly color: boolean;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly err: NodeJS.WriteStream,
    env: NodeJS.ProcessEnv,
  ) {
    this.tty = out.isTTY === true;
    this.color = this.tty && env.NO_COLOR === undefined && env.TERM !== 'dumb';
  }

  line(text = ''): void {
    this.out.write(`${text}\n`);
  }

  error(text: string): void {
    this.err.write(`${text}\n`);
  }

  bold(text: string): string {
    return this.color ? `\x1b[1m${text}\x1b[22m` : text;
  }

  /**
   * RFC 8628 §3.3: the code, where to enter it, and a QR code of the URL that carries it. The
   * QR code (block characters and colour codes) only goes to a terminal; a pipe or a log file
   * gets the link instead.
   */
  async showCode(device: DeviceAuthorization, qr: boolean): Promise<void> {
    this.line('To sign in, open this page in a browser on any device:');
    this.line();
    this.line(`  ${this.bold(printable(device.verification_uri))}`);
    this.line();
    this.line('and enter the code:');
    this.line();
    this.line(`  ${this.bold(printable(device.user_code))}`);
    this.line();
    const complete = device.verification_uri_complete;
    if (complete === undefined) return;
    if (!qr || !this.tty) {
      this.line(`Or open ${printable(complete)}`);
      this.line();
      return;
    }
    this.line(`Or scan this QR code, which opens ${printable(complete)}`);
    this.line();
    // Dark modules on a light background with a quiet zone, so it scans on dark terminals too.
    this.out.write(await qrToString(complete, { type: 'terminal', small: true }));
    this.line();
  }

  /** The wait for approval: a spinner with the time left on a TTY, plain lines otherwise. */
  waiting(deadline: number): Progress {
    return this.tty ? new Spinner(this.out, deadline) : new PlainProgress(this, deadline);
  }
}

export interface Progress {
  /** A change worth telling, e.g. the server asked to poll less often. */
  note(text: string): void;
  stop(): void;
}

class Spinner implements Progress {
  private frame = 0;
  private suffix = '';
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly deadline: number,
  ) {
    this.timer = setInterval(() => this.draw(), SPINNER_TICK_MS);
    this.timer.unref();
    this.draw();
  }

  note(text: string): void {
    this.suffix = ` (${text})`;
    this.draw();
  }

  stop(): void {
    clearInterval(this.timer);
    this.out.write('\r\x1b[2K');
  }

  private draw(): void {
    const glyph = SPINNER_FRAMES[this.frame++ % SPINNER_FRAMES.length];
    this.out.write(`\r\x1b[2K${glyph} Waiting for approval… ${timeLeft(this.deadline - Date.now())} left${this.suffix}`);
  }
}

class PlainProgress implements Progress {
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly terminal: Terminal,
    private readonly deadline: number,
  ) {
    terminal.line(`Waiting for approval (the code expires in ${timeLeft(deadline - Date.now())})...`);
    this.timer = setInterval(() => terminal.line(`Still waiting, ${timeLeft(this.deadline - Date.now())} left.`), PLAIN_REMINDER_MS);
    this.timer.unref();
  }

  note(text: string): void {
    this.terminal.line(`${text[0].toUpperCase()}${text.slice(1)}.`);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** `m:ss`, rounded up so "0:00 left" is never shown while time remains. */
export function timeLeft(ms: number): string {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}
