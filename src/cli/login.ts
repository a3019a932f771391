#!/usr/bin/env node
import { CliError, EXIT, UsageError } from './cli.errors';
import { DeviceFlowClient, printable, type SignedInUser, type TokenResponse } from './device-flow.client';
import { LoginOptions, parseLoginArgs, USAGE } from './login.args';
import { Terminal } from './terminal';
import { saveTokens, storedTokens } from './token-file';

/**
 * `nest-device-login`: signs this device in with the device authorization grant. It never
 * prints the device code or a token; the tokens go only to the token file.
 */
async function login(options: LoginOptions, terminal: Terminal, signal: AbortSignal): Promise<void> {
  if (new URL(options.server).protocol === 'http:' && !isLoopback(options.server)) {
    terminal.error(`Warning: ${options.server} is plain http, so the tokens cross the network unencrypted.`);
  }
  const client = new DeviceFlowClient(options.server, options.clientId, options.secret, signal);
  const metadata = await client.discover();
  const device = await client.authorize(metadata, options.scope);
  const deadline = Date.now() + device.expires_in * 1000;
  await terminal.showCode(device, options.qr);

  const progress = terminal.waiting(deadline);
  let tokens;
  try {
    tokens = await client.pollForTokens(metadata, device, deadline, (interval) => progress.note(`polling every ${interval} s, as the server asked`));
  } finally {
    progress.stop();
  }
  const receivedAt = Date.now();
  terminal.line('Approved.');
  const stored = storedTokens(tokens, options.scope, receivedAt, options.server, options.clientId);
  saveTokens(options.tokenFile, stored);
  terminal.line(`Tokens saved to ${options.tokenFile} (readable only by you).`);

  const me = await whoSignedIn(client, tokens, terminal);
  if (me) {
    terminal.line(`Signed in as ${terminal.bold(printable(me.user))} (scopes: ${scopeList(me.scopes)}).`);
  } else {
    // The token response's scope: what was granted, even if the server cannot say to whom.
    terminal.line(stored.scope === undefined ? 'Signed in.' : `Signed in (scopes: ${scopeList(stored.scope.split(' ').filter(Boolean))}).`);
  }
}

/**
 * Who signed in, from the server's `/api/me`; undefined when it cannot say. The tokens are
 * saved by then, so the sign-in worked either way: an unexpected answer is only a warning.
 */
async function whoSignedIn(client: DeviceFlowClient, tokens: TokenResponse, terminal: Terminal): Promise<SignedInUser | undefined> {
  try {
    return await client.whoAmI(tokens);
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    terminal.error(`Warning: ${error.message}`);
    return undefined;
  }
}

function scopeList(scopes: string[]): string {
  return scopes.map(printable).join(', ') || 'none';
}

function isLoopback(server: string): boolean {
  const host = new URL(server).hostname;
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

async function main(argv: string[]): Promise<number> {
  const terminal = new Terminal(process.stdout, process.stderr, process.env);
  let options: LoginOptions | 'help';
  try {
    options = parseLoginArgs(argv, process.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    terminal.error(`${error.message}\n\n${USAGE.trimEnd()}`);
    return EXIT.usage;
  }
  if (options === 'help') {
    terminal.line(USAGE.trimEnd());
    return EXIT.ok;
  }

  // Ctrl-C aborts whatever is in flight (a wait or a request); the catch below reports it.
  const cancel = new AbortController();
  process.once('SIGINT', () => cancel.abort());
  try {
    await login(options, terminal, cancel.signal);
    return EXIT.ok;
  } catch (error) {
    if (cancel.signal.aborted) {
      terminal.error('Cancelled.');
      return EXIT.cancelled;
    }
    if (error instanceof CliError) {
      terminal.error(error.message);
      return error.exitCode;
    }
    terminal.error(`Unexpected error: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT.failure;
  }
}

// Exit at once: an idle keep-alive connection must not hold the process open.
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`Unexpected error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(EXIT.failure);
  },
);
