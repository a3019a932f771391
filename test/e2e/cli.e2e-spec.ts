import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller, Get, Module, UseGuards } from '@nestjs/common';
import { DeviceAuthGuard, DeviceAuthModule, Scopes, TokenIssuer } from '../../src';
import { sha256Hex } from '../../src/codes/device-code';
import { CONFIDENTIAL_SECRET, MATRIX, startTestApp, TestApp } from '../support/test-app';
import { decideViaPages, signIn } from '../support/flow';
import { freePort } from '../support/free-port';
import { HostApp, hostOptions, hostTypeOrm, startHostApp } from '../support/host-app';

/**
 * The compiled device CLI (`npm run login`, the `nest-device-login` bin) as a child process
 * against the demo application listening on a real port, while a person signs in and decides
 * through the HTML pages. The CLI's stdout is a pipe, not a TTY: plain progress lines, no spinner.
 *
 * The TestClock is frozen, so the server sees every poll after the first as too early: a poll
 * that meets a pending code gets slow_down. The tests decide between the first and second poll
 * (a final state is never slowed down), or use that on purpose to see slow_down honoured.
 */

const LOGIN = join(__dirname, '../../dist/src/cli/login.js');
const USER_CODE = /\b([BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4})\b/;

interface CliRun {
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match in stdout; rejects if the CLI exits or times out first. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** The exit code, once the process has ended and its output is complete. */
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): void;
}

const running = new Set<ChildProcess>();

/** A word for `sh -c`, quoted. */
const shellWord = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

/**
 * HOME points into `dir`, so a run without --token-file never touches the real home. With
 * `tty`, the CLI runs on a pseudo-terminal made by util-linux `script`, which copies what the
 * terminal shows (stdout and stderr, with `\r\n` line ends) to its own stdout.
 */
function runCli(dir: string, args: string[], env: Record<string, string> = {}, tty = false): CliRun {
  const command = [process.execPath, LOGIN, ...args];
  const [file, argv] = tty ? ['script', ['-qefc', command.map(shellWord).join(' '), '/dev/null']] : [command[0], command.slice(1)];
  const child = spawn(file, argv, {
    env: { PATH: process.env.PATH, HOME: join(dir, 'home'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) =>
    child.once('close', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  let done = false;
  void exited.then(() => (done = true));
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    kill: (signal) => child.kill(signal),
    async waitForOutput(pattern, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = pattern.exec(stdout);
        if (match) return match;
        if (done || Date.now() > deadline) {
          throw new Error(`${done ? 'the CLI exited' : 'timed out'} before printing ${pattern}\nstdout:\n${stdout}\nstderr:\n${stderr}`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

async function codeRow(t: TestApp, userCode: string): Promise<Record<string, unknown> | undefined> {
  const rows = await t.dataSource.query('SELECT * FROM device_codes WHERE user_code = ?', [userCode.replace('-', '')]);
  return rows[0];
}

/** Waits until the CLI's first poll has reached the server (it got authorization_pending). */
async function firstPollSeen(t: TestApp, userCode: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const row = await codeRow(t, userCode);
    if (row?.last_polled_at != null) {
      expect(row.status).toBe('pending');
      return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('the CLI never polled');
}

/** The CLI shows the user code; once it polls, alice signs in and decides on the pages. */
async function decideWhenPolling(t: TestApp, cli: CliRun, action: 'approve' | 'deny'): Promise<string> {
  const [, userCode] = await cli.waitForOutput(USER_CODE);
  await firstPollSeen(t, userCode);
  const decided = await decideViaPages(t, await signIn(t, 'alice'), userCode, action);
  expect(decided.status).toBe(200);
  return userCode;
}

/**
 * Neither the device code nor a token may reach the terminal. The device code is stored only
 * as its SHA-256, so every code-like word the CLI printed is hashed and compared with it.
 */
async function expectNoSecretsPrinted(t: TestApp, cli: CliRun, userCode: string, secrets: string[]): Promise<void> {
  const output = cli.stdout() + cli.stderr();
  for (const secret of secrets) expect(output).not.toContain(secret);
  const row = await codeRow(t, userCode);
  const words = output.match(/[A-Za-z0-9_-]{16,}/g) ?? [];
  expect(words.map((word) => sha256Hex(word))).not.toContain(row!.device_code_hash);
}

async function me(server: string, accessToken: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${server}/api/me`, { headers: { Authorization: `Bearer ${accessToken}` } });
  return { status: res.status, body: await res.json() };
}

let dir: string;

beforeAll(() => {
  if (!existsSync(LOGIN)) throw new Error('dist/ is missing: run `npm run build` (npm test does) before this suite');
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nda-cli-'));
});
afterEach(() => {
  for (const child of running) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function listeningApp(database: Parameters<typeof startTestApp>[0], adapter: Parameters<typeof startTestApp>[1], env: Record<string, string> = {}) {
  const port = await freePort();
  const server = `http://127.0.0.1:${port}`;
  const t = await startTestApp(database, adapter, { PUBLIC_URL: server, DEVICE_POLL_INTERVAL: '1', ...env });
  await t.app.listen(port, '127.0.0.1');
  return { t, server };
}

describe.each(MATRIX)('the device CLI on %s with %s', (database, adapter) => {
  let t: TestApp;
  let server: string;

  beforeAll(async () => ({ t, server } = await listeningApp(database, adapter)));
  afterAll(() => t.close());
  beforeEach(() => t.clearTables());

  it('shows the code and URL (a pipe gets no QR code), waits for approval, stores the tokens 0600 and says who signed in', async () => {
    const tokenFile = join(dir, 'tokens.json');
    const cli = runCli(dir, ['--server', server, '--client', 'demo-cli', '--scope', 'read', '--token-file', tokenFile]);
    const userCode = await decideWhenPolling(t, cli, 'approve');

    expect(await cli.exited).toBe(0);
    expect(cli.stderr()).toBe('');
    const stdout = cli.stdout();
    expect(stdout).toContain(`open this page in a browser on any device:\n\n  ${server}/device\n\nand enter the code:\n\n  ${userCode}\n`);
    expect(stdout).toContain(`\n\nOr open ${server}/device?user_code=${encodeURIComponent(userCode)}\n\n`);
    expect(stdout).not.toContain('QR code');
    expect(stdout).not.toMatch(/[▀▄█]/); // no QR block
    expect(stdout).not.toContain('\x1b'); // no colour or cursor codes in a pipe or a log file
    expect(stdout).toContain('Waiting for approval (the code expires in 15:00)...\n');
    expect(stdout).toContain(`Approved.\nTokens saved to ${tokenFile} (readable only by you).\nSigned in as alice (scopes: read).\n`);
    expect(stdout).not.toContain('\r'); // no spinner without a TTY

    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(readFileSync(tokenFile, 'utf8'));
    expect(stored).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      scope: 'read',
      expires_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      server,
      client_id: 'demo-cli',
    });
    expect(Math.abs(Date.parse(stored.expires_at) - (Date.now() + 3600_000))).toBeLessThan(60_000);
    expect(readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    expect(await me(server, stored.access_token)).toEqual({ status: 200, body: { user: 'alice', client_id: 'demo-cli', scopes: ['read'] } });

    const row = await codeRow(t, userCode);
    expect(row!.status).toBe('consumed');
    expect(row!.requester_user_agent).toMatch(/^nest-device-login \(Node\.js v\d+/);
    await expectNoSecretsPrinted(t, cli, userCode, [stored.access_token]);
  }, 30_000);
});

describe('the device CLI\'s other outcomes (sqlite, fastify)', () => {
  let t: TestApp;
  let server: string;

  beforeAll(async () => ({ t, server } = await listeningApp('sqlite', 'fastify')));
  afterAll(() => t.close());
  beforeEach(() => t.clearTables());

  function args(clientId: string, ...more: string[]): string[] {
    return ['--server', server, '--client', clientId, '--scope', 'read', '--token-file', join(dir, 'tokens.json'), ...more];
  }

  it('on a terminal, also shows a QR code of the link that carries the code, and a spinner', async () => {
    const tokenFile = join(dir, 'tokens.json');
    const cli = runCli(dir, args('demo-cli'), {}, true);
    const [, userCode] = await cli.waitForOutput(/user_code=([BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4})\r\n/);
    await firstPollSeen(t, userCode);
    expect((await decideViaPages(t, await signIn(t, 'alice'), userCode, 'approve')).status).toBe(200);

    expect(await cli.exited).toBe(0);
    const screen = cli.stdout().replace(/\r\n/g, '\n');
    expect(screen).toContain(`and enter the code:\n\n  \x1b[1m${userCode}\x1b[22m\n`);
    expect(screen).toContain(`Or scan this QR code, which opens ${server}/device?user_code=${encodeURIComponent(userCode)}\n\n\x1b[47m\x1b[30m`);
    expect(screen).toMatch(/[▀▄█]{7}/); // the QR code's finder pattern
    expect(screen).not.toContain('Or open');
    expect(screen).toContain('\r\x1b[2K⠋ Waiting for approval… 15:00 left');
    expect(screen).toContain(`Tokens saved to ${tokenFile} (readable only by you).\nSigned in as \x1b[1malice\x1b[22m (scopes: read).\n`);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
  });

  it('exits 3 with a clear message when alice denies, and stores nothing', async () => {
    const cli = runCli(dir, args('demo-cli', '--no-qr'));
    const userCode = await decideWhenPolling(t, cli, 'deny');

    expect(await cli.exited).toBe(3);
    expect(cli.stderr()).toBe('Access denied: the sign-in was refused in the browser.\n');
    expect(cli.stdout()).toContain(`Or open ${server}/device?user_code=${encodeURIComponent(userCode)}\n`);
    expect(cli.stdout()).not.toMatch(/[▀▄█]/);
    expect(existsSync(join(dir, 'tokens.json'))).toBe(false);
    expect((await codeRow(t, userCode))!.status).toBe('denied');
    await expectNoSecretsPrinted(t, cli, userCode, []);
  });

  it('exits 4 when the server answers expired_token', async () => {
    const cli = runCli(dir, args('demo-cli'));
    const [, userCode] = await cli.waitForOutput(USER_CODE);
    await firstPollSeen(t, userCode);
    t.clock.advance(900_000); // the server's clock passes expires_at; the CLI's has 14 minutes left

    expect(await cli.exited).toBe(4);
    expect(cli.stderr()).toBe('The code expired before the sign-in was approved: run the command again for a new code.\n');
    expect(existsSync(join(dir, 'tokens.json'))).toBe(false);
  });

  it('honours slow_down: after it, waits the new interval before polling again', async () => {
    const cli = runCli(dir, args('demo-cli'));
    const [, userCode] = await cli.waitForOutput(USER_CODE);
    // The frozen clock makes the second poll too early: slow_down with interval 1 + 5.
    await cli.waitForOutput(/Polling every 6 s, as the server asked\.\n/);
    const slowedAt = Date.now();
    expect((await codeRow(t, userCode))!.interval_seconds).toBe(6);
    expect((await decideViaPages(t, await signIn(t, 'alice'), userCode, 'approve')).status).toBe(200);

    expect(await cli.exited).toBe(0);
    // An earlier poll would have found the approved code and finished sooner.
    expect(Date.now() - slowedAt).toBeGreaterThanOrEqual(5_500);
    expect(cli.stdout()).toContain('Signed in as alice (scopes: read).');
    expect((await codeRow(t, userCode))!.interval_seconds).toBe(6);
  }, 20_000);

  it('stops polling on Ctrl-C: "Cancelled.", exit 130, no stack trace', async () => {
    const cli = runCli(dir, args('demo-cli'));
    const [, userCode] = await cli.waitForOutput(USER_CODE);
    await firstPollSeen(t, userCode);
    cli.kill('SIGINT');

    expect(await cli.exited).toBe(130);
    expect(cli.stderr()).toBe('Cancelled.\n');
    expect(existsSync(join(dir, 'tokens.json'))).toBe(false);
    expect((await codeRow(t, userCode))!.status).toBe('pending');
  });

  it.each([
    ['an unknown client', ['--client', 'no-such-client'], 'Check --client; a confidential client also needs --secret.'],
    ['a confidential client with the wrong secret', ['--client', 'tv-app', '--secret', 'not-the-secret'], 'Check --client and --secret.'],
  ])('exits 1 with the invalid_client message for %s', async (_, clientArgs, hint) => {
    const cli = runCli(dir, ['--server', server, ...clientArgs, '--token-file', join(dir, 'tokens.json')]);

    expect(await cli.exited).toBe(1);
    expect(cli.stderr()).toBe(`The server refused the device authorization request: invalid_client (Client authentication failed). ${hint}\n`);
    expect(cli.stdout()).toBe('');
    const [{ n }] = await t.dataSource.query('SELECT COUNT(*) AS n FROM device_codes');
    expect(Number(n)).toBe(0);
  });

  it('signs a confidential client in with client_secret_basic, storing at $XDG_CONFIG_HOME/nest-device-auth/tokens.json', async () => {
    const configHome = join(dir, 'xdg');
    const cli = runCli(dir, ['--server', server, '--client', 'tv-app', '--scope', 'read'], {
      XDG_CONFIG_HOME: configHome,
      NEST_DEVICE_LOGIN_SECRET: CONFIDENTIAL_SECRET,
    });
    const userCode = await decideWhenPolling(t, cli, 'approve');

    expect(await cli.exited).toBe(0);
    expect(cli.stdout()).toContain('Signed in as alice (scopes: read).');
    const tokenFile = join(configHome, 'nest-device-auth', 'tokens.json');
    expect(statSync(join(configHome, 'nest-device-auth')).mode & 0o777).toBe(0o700);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(readFileSync(tokenFile, 'utf8'));
    expect(stored).toMatchObject({ client_id: 'tv-app', server, scope: 'read' });
    expect(await me(server, stored.access_token)).toEqual({ status: 200, body: { user: 'alice', client_id: 'tv-app', scopes: ['read'] } });
    await expectNoSecretsPrinted(t, cli, userCode, [stored.access_token, CONFIDENTIAL_SECRET]);
  });

  it('stores the refresh token for a client that gets one, replacing an older, looser file', async () => {
    const tokenFile = join(dir, 'tokens.json');
    writeFileSync(tokenFile, '{"old": true}', { mode: 0o644 });
    const cli = runCli(dir, args('refresh-cli'));
    const userCode = await decideWhenPolling(t, cli, 'approve');

    expect(await cli.exited).toBe(0);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(readFileSync(tokenFile, 'utf8'));
    expect(stored).toEqual(expect.objectContaining({ client_id: 'refresh-cli', refresh_token: expect.any(String), access_token: expect.any(String) }));
    await expectNoSecretsPrinted(t, cli, userCode, [stored.access_token, stored.refresh_token]);
  });

  it('exits 1 when --server is not the issuer the metadata names', async () => {
    const elsewhere = server.replace('127.0.0.1', 'localhost');
    const cli = runCli(dir, ['--server', elsewhere, '--client', 'demo-cli']);

    expect(await cli.exited).toBe(1);
    expect(cli.stderr()).toBe(`The server at ${elsewhere} calls itself "${server}": run again with that as --server.\n`);
  });
});

/** A host's /api/me that wants a scope no client gets: a 403 that is not the demo's answer. */
@Controller('api')
class AdminOnlyMeController {
  @Get('me')
  @UseGuards(DeviceAuthGuard)
  @Scopes('admin')
  me(): never {
    throw new Error('not reached: the guard refuses every token');
  }
}
@Module({ controllers: [AdminOnlyMeController] })
class AdminOnlyMeModule {}

describe.each([
  ['without /api/me', [], 404, ''],
  ['whose /api/me refuses the token', [AdminOnlyMeModule], 403, 'Warning: GET {server}/api/me did not say who signed in (HTTP 403).\n'],
])('the device CLI against a host app %s', (_case, hostModules, meStatus, warning) => {
  let host: HostApp;
  let server: string;

  beforeAll(async () => {
    const port = await freePort();
    server = `http://127.0.0.1:${port}`;
    // The module in a bare host (no demo routes), on a real port; isGlobal lets the host's own route use the guard.
    const options = hostOptions({ issuer: server, pollIntervalSeconds: 1 });
    host = await startHostApp([hostTypeOrm('sqlite'), DeviceAuthModule.forRoot({ ...options, isGlobal: true }), ...hostModules]);
    await host.app.listen(port, '127.0.0.1');
  });
  afterAll(() => host.close());

  it('signs in, saves the tokens, and says which scopes were granted: exit 0', async () => {
    const tokenFile = join(dir, 'tokens.json');
    const cli = runCli(dir, ['--server', server, '--client', 'host-cli', '--scope', 'read', '--token-file', tokenFile]);
    const [, userCode] = await cli.waitForOutput(USER_CODE);
    // alice approves through the JSON API, signed in as the host's resolveUser sees her.
    const session = await host.http().get('/device/api/session').set('x-test-user', 'alice');
    const approved = await host.http().post('/device/api/approve').set('x-test-user', 'alice').set('X-CSRF-Token', session.body.csrf_token).send({ user_code: userCode });
    expect(approved.status).toBe(200);

    expect(await cli.exited).toBe(0);
    expect(cli.stderr()).toBe(warning.replace('{server}', server));
    // What follows the approval, exactly: the scopes come from the token response.
    expect(cli.stdout().split('Approved.\n')[1]).toBe(`Tokens saved to ${tokenFile} (readable only by you).\nSigned in (scopes: read).\n`);
    const stored = JSON.parse(readFileSync(tokenFile, 'utf8'));
    expect(stored).toMatchObject({ client_id: 'host-cli', server, scope: 'read', token_type: 'Bearer' });
    expect((await fetch(`${server}/api/me`, { headers: { Authorization: `Bearer ${stored.access_token}` } })).status).toBe(meStatus);
    await expect(host.app.get<TokenIssuer>(TokenIssuer).verify(stored.access_token)).resolves.toMatchObject({ sub: 'alice', client_id: 'host-cli', scope: 'read' });
  });
});

describe('the device CLI when the code expires unapproved', () => {
  let t: TestApp;
  let server: string;

  beforeAll(async () => ({ t, server } = await listeningApp('sqlite', 'fastify', { DEVICE_CODE_TTL: '2' })));
  afterAll(() => t.close());

  it('stops polling at expires_in and exits 4', async () => {
    const cli = runCli(dir, ['--server', server, '--client', 'demo-cli', '--token-file', join(dir, 'tokens.json')]);

    expect(await cli.exited).toBe(4);
    expect(cli.stdout()).toContain('Waiting for approval (the code expires in 0:02)...\n');
    expect(cli.stderr()).toBe('The code expired before the sign-in was approved: run the command again for a new code.\n');
    expect(existsSync(join(dir, 'tokens.json'))).toBe(false);
  });
});

describe('the device CLI without a server', () => {
  it('exits 2 with the usage when --server is missing', async () => {
    const cli = runCli(dir, ['--client', 'demo-cli']);

    expect(await cli.exited).toBe(2);
    expect(cli.stderr()).toMatch(/^--server is required\.\n\nUsage: nest-device-login --server URL --client ID/);
    expect(cli.stdout()).toBe('');
  });

  it('exits 2 with the usage on an unknown option', async () => {
    const cli = runCli(dir, ['--server', 'http://127.0.0.1:1', '--client', 'demo-cli', '--colour']);

    expect(await cli.exited).toBe(2);
    expect(cli.stderr()).toContain("Unknown option '--colour'");
    expect(cli.stderr()).toContain('Usage: nest-device-login');
  });

  it('prints the usage with --help and exits 0', async () => {
    const cli = runCli(dir, ['--help']);

    expect(await cli.exited).toBe(0);
    expect(cli.stdout()).toMatch(/^Usage: nest-device-login --server URL --client ID/);
    expect(cli.stdout()).toContain('Exit codes: 0 signed in, 1 error, 2 usage error, 3 access denied, 4 code expired, 130 cancelled.');
  });

  it('exits 1 with one line when the server is unreachable', async () => {
    const server = `http://127.0.0.1:${await freePort()}`;
    const cli = runCli(dir, ['--server', server, '--client', 'demo-cli']);

    expect(await cli.exited).toBe(1);
    expect(cli.stderr()).toBe(`Cannot reach ${server}: connect ECONNREFUSED ${server.slice('http://'.length)}.\n`);
  });
});
