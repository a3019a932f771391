import { LoggerService } from '@nestjs/common';
import { CONFIDENTIAL_SECRET, MATRIX, startTestApp, TestApp } from '../support/test-app';
import { decideViaPages, poll, requestDeviceCode, signIn, startFlow } from '../support/flow';

/** Keeps every line the application logs, at every level. */
class RecordingLogger implements LoggerService {
  readonly lines: string[] = [];
  log = (message: unknown, ...rest: unknown[]) => this.record(message, rest);
  error = (message: unknown, ...rest: unknown[]) => this.record(message, rest);
  warn = (message: unknown, ...rest: unknown[]) => this.record(message, rest);
  debug = (message: unknown, ...rest: unknown[]) => this.record(message, rest);
  verbose = (message: unknown, ...rest: unknown[]) => this.record(message, rest);
  /** `[context] message`, with any other arguments after it. */
  private record(message: unknown, rest: unknown[]): void {
    const context = rest.length ? String(rest[rest.length - 1]) : '';
    const extra = rest.slice(0, -1).map((part) => JSON.stringify(part));
    this.lines.push([`[${context}] ${typeof message === 'string' ? message : JSON.stringify(message)}`, ...extra].join(' '));
  }
}

describe.each(MATRIX)('flow events in the log on %s with %s', (database, adapter) => {
  let t: TestApp;
  const logger = new RecordingLogger();

  beforeAll(async () => {
    t = await startTestApp(database, adapter, { DEVICE_AUTHORIZATION_RATE_LIMIT: '2', VERIFICATION_FAILURE_LIMIT: '1' }, logger);
  });
  afterAll(() => t.close());
  beforeEach(async () => {
    await t.clearTables();
    logger.lines.length = 0;
  });

  it('records created, approved, redeemed, denied and limited with client and user ids, and never a code, token, secret or password', async () => {
    const approved = await startFlow(t, { client_id: 'tv-app', client_secret: CONFIDENTIAL_SECRET });
    const cookie = await signIn(t, 'alice');
    await decideViaPages(t, cookie, approved.user_code, 'approve');
    const tokens = await poll(t, approved.device_code, { client_id: 'tv-app', client_secret: CONFIDENTIAL_SECRET });
    expect(tokens.status).toBe(200);

    const denied = await startFlow(t);
    await decideViaPages(t, cookie, denied.user_code, 'deny');
    // The limit is per client and IP: demo-cli's third request in the minute is refused.
    expect((await requestDeviceCode(t)).status).toBe(200);
    const limited = await requestDeviceCode(t);
    expect(limited.status).toBe(429);
    // Two wrong codes with a limit of one: the second is refused by the lockout.
    const entry = await t.http().get('/device').set('Cookie', cookie);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(entry.text)![1];
    await t.http().post('/device').set('Cookie', cookie).type('form').send({ user_code: 'BBBB-BBBB', _csrf: csrf });
    const locked = await t.http().post('/device').set('Cookie', cookie).type('form').send({ user_code: 'CCCC-CCCC', _csrf: csrf });
    expect(locked.status).toBe(429);

    const log = logger.lines.join('\n');
    expect(logger.lines.filter((line) => /device code|limited/.test(line))).toEqual([
      '[DeviceAuth] device code created: client=tv-app scope="read"',
      '[DeviceAuth] device code approved: client=tv-app user=alice',
      '[DeviceAuth] device code redeemed: client=tv-app user=alice',
      '[DeviceAuth] device code created: client=demo-cli scope="read write"',
      '[DeviceAuth] device code denied: client=demo-cli user=alice',
      '[DeviceAuth] device code created: client=demo-cli scope="read write"',
      '[DeviceAuth] device authorization limited: client=demo-cli',
      '[DeviceAuth] verification limited: user=alice',
    ]);
    for (const secret of [
      approved.device_code,
      approved.user_code,
      approved.user_code.replace('-', ''),
      denied.device_code,
      denied.user_code.replace('-', ''),
      tokens.body.access_token,
      CONFIDENTIAL_SECRET,
      'alice-password',
      cookie.split('=')[1],
      csrf,
    ]) {
      expect(log).not.toContain(secret);
    }
  });
});
