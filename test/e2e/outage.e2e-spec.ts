import { LoggerService } from '@nestjs/common';
import { Connection, createConnection } from 'mysql2/promise';
import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { sqlitePath } from '../../src/demo/demo.config';
import { decideViaPages, poll, requestDeviceCode, signIn, startFlow } from '../support/flow';
import { TcpProxy } from '../support/tcp-proxy';
import { Controller, Get, Module } from '@nestjs/common';
import { DeviceAuthModule } from '../../src';
import { HostApp, hostOptions, hostTypeOrm, startHostApp } from '../support/host-app';
import { ADAPTERS, CONFIDENTIAL_SECRET, DATABASES, MATRIX, startTestApp, TestApp } from '../support/test-app';

/**
 * MariaDB going away under a running app: a TCP proxy in the test sits between the app and
 * MariaDB and is cut (connections reset, new ones refused) or stalled (nothing answers). Every
 * endpoint then answers 503 with Retry-After, in its own format; when the proxy comes back the
 * same app serves the same codes again, and nothing was half-written meanwhile. SQLite has no
 * network to lose; its outage is another writer holding the lock beyond the busy timeout.
 *
 * Under CI=true global setup fails the run when MariaDB is missing, so this never skips there.
 */
const onMariadb = DATABASES.includes('mariadb') ? describe : describe.skip;

const UNAVAILABLE = { error: 'temporarily_unavailable', error_description: 'The service is temporarily unavailable; try again shortly.' };
const HEALTH_UP = { status: 'ok', database: 'up' };
const HEALTH_DOWN = { status: 'error', database: 'down' };

/** Every log line the app writes, to check what an outage logs. */
class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];
  log(message: unknown): void {
    this.lines.push(String(message));
  }
  error(message: unknown): void {
    this.lines.push(String(message));
  }
  warn(message: unknown): void {
    this.lines.push(String(message));
  }
}

/** What a flow in progress holds: codes in three states, a refresh token, a signed-in person. */
interface Flows {
  pending: { device_code: string; user_code: string };
  approved: { device_code: string; user_code: string };
  undecided: { device_code: string; user_code: string };
  refreshToken: string;
  cookie: string;
  csrf: string;
}

onMariadb.each(ADAPTERS)('MariaDB going away under the %s app', (adapter) => {
  let proxy: TcpProxy;
  let t: TestApp;
  let logger: CapturingLogger;
  /** Straight to MariaDB, past the proxy: what is really stored. */
  let direct: Connection;

  beforeEach(async () => {
    proxy = await TcpProxy.start(Number(new URL(process.env.TEST_DATABASE_URL!).port || 3306));
    const viaProxy = new URL(process.env.TEST_DATABASE_URL!);
    viaProxy.port = String(proxy.port);
    logger = new CapturingLogger();
    t = await startTestApp('mariadb', adapter, { DATABASE_URL: viaProxy.toString() }, logger);
    direct = await createConnection({ uri: process.env.TEST_DATABASE_URL!, supportBigNumbers: true, bigNumberStrings: true });
  });
  afterEach(async () => {
    await proxy.restore();
    await t.close();
    await proxy.close();
    await direct.end();
  });

  /** Codes pending, approved and about to be decided, and a redeemed one with a refresh token. */
  async function startFlows(): Promise<Flows> {
    const cookie = await signIn(t);
    const pending = await startFlow(t);
    const approved = await startFlow(t);
    expect((await decideViaPages(t, cookie, approved.user_code)).status).toBe(200);
    const undecided = await startFlow(t);
    const refreshFlow = await startFlow(t, { client_id: 'refresh-cli' });
    expect((await decideViaPages(t, cookie, refreshFlow.user_code)).status).toBe(200);
    const tokens = await poll(t, refreshFlow.device_code, { client_id: 'refresh-cli' });
    expect(tokens.status).toBe(200);
    const session = await t.http().get('/device/api/session').set('Cookie', cookie);
    return { pending, approved, undecided, refreshToken: tokens.body.refresh_token, cookie, csrf: session.body.csrf_token };
  }

  /** Every row of the module's tables, to compare before and after an outage. */
  async function snapshot(): Promise<unknown> {
    const tables = { device_codes: 'id', refresh_tokens: 'id', device_auth_rate_limits: 'bucket_key' };
    const result: Record<string, unknown> = {};
    for (const [table, key] of Object.entries(tables)) [result[table]] = await direct.query(`SELECT * FROM ${table} ORDER BY ${key}`);
    return result;
  }

  /** Each JSON endpoint and each verification page, called as clients call them. */
  function jsonCalls(f: Flows): [string, () => Promise<Response>][] {
    const api = (path: string) => t.http().post(`/device/api/${path}`).set('Cookie', f.cookie).set('X-CSRF-Token', f.csrf).send({ user_code: f.undecided.user_code });
    return [
      ['device authorization', () => requestDeviceCode(t)],
      ['device code poll', () => poll(t, f.pending.device_code)],
      ['redemption of an approved code', () => poll(t, f.approved.device_code)],
      ['refresh', () => t.http().post('/oauth/token').type('form').send({ grant_type: 'refresh_token', client_id: 'refresh-cli', refresh_token: f.refreshToken })],
      ['revocation', () => t.http().post('/oauth/revoke').type('form').send({ client_id: 'refresh-cli', token: f.refreshToken })],
      ['introspection', () => t.http().post('/oauth/introspect').auth('tv-app', CONFIDENTIAL_SECRET).type('form').send({ token: f.refreshToken })],
      ['API lookup', () => api('lookup')],
      ['API approval', () => api('approve')],
      ['API denial', () => api('deny')],
    ];
  }

  function pageCalls(f: Flows): [string, () => Promise<Response>][] {
    const form = { user_code: f.undecided.user_code, _csrf: f.csrf };
    return [
      ['verification link', () => t.http().get(`/device?user_code=${encodeURIComponent(f.undecided.user_code)}`).set('Cookie', f.cookie)],
      ['code entry', () => t.http().post('/device').set('Cookie', f.cookie).type('form').send(form)],
      ['approval page', () => t.http().post('/device/approve').set('Cookie', f.cookie).type('form').send(form)],
      ['denial page', () => t.http().post('/device/deny').set('Cookie', f.cookie).type('form').send(form)],
    ];
  }

  /** Calls everything at once, as clients would during an outage, and checks each answer exactly. */
  async function expectEverythingUnavailable(f: Flows): Promise<void> {
    const [json, pages, health] = await Promise.all([
      Promise.all(jsonCalls(f).map(async ([name, call]) => [name, await call()] as const)),
      Promise.all(pageCalls(f).map(async ([name, call]) => [name, await call()] as const)),
      t.http().get('/health'),
    ]);
    for (const [name, res] of json) {
      expect({ name, status: res.status, body: res.body, retryAfter: res.headers['retry-after'], cache: res.headers['cache-control'] }).toEqual({
        name,
        status: 503,
        body: UNAVAILABLE,
        retryAfter: '5',
        cache: 'no-store',
      });
      expect(res.headers['content-type']).toMatch(/^application\/json/);
    }
    for (const [name, res] of pages) {
      expect({ name, status: res.status, retryAfter: res.headers['retry-after'], cache: res.headers['cache-control'] }).toEqual({
        name,
        status: 503,
        retryAfter: '5',
        cache: 'no-store',
      });
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.text).toContain('The service is temporarily unavailable');
      expect(res.text).toContain('Please try again in a moment.');
    }
    expect({ status: health.status, body: health.body, retryAfter: health.headers['retry-after'], cache: health.headers['cache-control'] }).toEqual({
      status: 503,
      body: HEALTH_DOWN,
      retryAfter: '5',
      cache: 'no-store',
    });
  }

  /** What a client does after a 503: tries again until the app answers (bounded). */
  async function untilHealthy(): Promise<void> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const res = await t.http().get('/health');
      if (res.status === 200) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('the app did not report the database up again');
  }

  /** The app works again, without a restart: the same codes go on from where they were. */
  async function expectRecovered(f: Flows): Promise<void> {
    const health = await t.http().get('/health');
    expect({ status: health.status, body: health.body, cache: health.headers['cache-control'] }).toEqual({ status: 200, body: HEALTH_UP, cache: 'no-store' });
    const pending = await poll(t, f.pending.device_code);
    expect({ status: pending.status, error: pending.body.error }).toEqual({ status: 400, error: 'authorization_pending' });
    expect((await decideViaPages(t, f.cookie, f.pending.user_code)).status).toBe(200);
    t.clock.advance(5000);
    expect((await poll(t, f.pending.device_code)).status).toBe(200);
    expect((await poll(t, f.approved.device_code)).status).toBe(200);
    const refreshed = await t.http().post('/oauth/token').type('form').send({ grant_type: 'refresh_token', client_id: 'refresh-cli', refresh_token: f.refreshToken });
    expect(refreshed.status).toBe(200);
    const [codes] = await direct.query('SELECT user_code, status FROM device_codes ORDER BY id');
    expect(codes).toEqual([
      { user_code: f.pending.user_code.replace('-', ''), status: 'consumed' },
      { user_code: f.approved.user_code.replace('-', ''), status: 'consumed' },
      { user_code: f.undecided.user_code.replace('-', ''), status: 'pending' },
      { user_code: expect.any(String), status: 'consumed' },
    ]);
  }

  /**
   * Outage log lines carry the error's class and code only (each of `codes` at least once); no
   * code, token or secret appears anywhere in the log.
   */
  function expectCleanLogs(f: Flows, codes: string[]): void {
    const outage = logger.lines.filter((line) => line.startsWith('database unavailable'));
    for (const line of outage) expect(line).toMatch(/^database unavailable( on the verification page)?: \w+ \([A-Z_]+\)$/);
    for (const code of codes) expect(outage.filter((line) => line.endsWith(`(${code})`)).length).toBeGreaterThan(0);
    const secrets = [f.pending, f.approved, f.undecided].flatMap((code) => [code.device_code, code.user_code, code.user_code.replace('-', '')]);
    for (const secret of [...secrets, f.refreshToken, f.csrf]) expect(logger.lines.filter((line) => line.includes(secret))).toEqual([]);
  }

  it('cut: every endpoint answers 503 with Retry-After, /health says down; restored, the same codes go on and nothing was half-written', async () => {
    const f = await startFlows();
    const before = await snapshot();
    expect((await t.http().get('/health')).body).toEqual(HEALTH_UP);

    await proxy.cut();
    await expectEverythingUnavailable(f);
    // Metadata and the session API need no database: they keep answering.
    expect((await t.http().get('/.well-known/oauth-authorization-server')).status).toBe(200);
    expect((await t.http().get('/device/api/session').set('Cookie', f.cookie)).status).toBe(200);

    await proxy.restore();
    await untilHealthy();
    expect(await snapshot()).toEqual(before);
    await expectRecovered(f);
    expectCleanLogs(f, ['ECONNREFUSED']);
  });

  it('a connection reset while a query is in flight answers 503, and the code is untouched', async () => {
    const f = await startFlows();
    const before = await snapshot();
    proxy.stall();
    // then() sends it (supertest is lazy); the poll's first query goes out on an idle pooled connection.
    const inFlight = poll(t, f.pending.device_code).then((res) => res);
    await proxy.whenHolding();
    await proxy.cut();
    const res = await inFlight;
    expect({ status: res.status, body: res.body, retryAfter: res.headers['retry-after'] }).toEqual({ status: 503, body: UNAVAILABLE, retryAfter: '5' });

    await proxy.restore();
    await untilHealthy();
    expect(await snapshot()).toEqual(before);
    await expectRecovered(f);
    expectCleanLogs(f, ['ECONNRESET']);
  });

  it('stalled (connections accepted, nothing answered): every endpoint answers 503 within the bounded timeouts; then it recovers', async () => {
    const f = await startFlows();
    const before = await snapshot();
    proxy.stall();
    await expectEverythingUnavailable(f);

    await proxy.restore();
    await untilHealthy();
    expect(await snapshot()).toEqual(before);
    await expectRecovered(f);
    // A query on a pooled connection hit its deadline; new connections, the connect timeout.
    expectCleanLogs(f, ['QUERY_DEADLINE_EXCEEDED', 'ETIMEDOUT']);
  }, 60_000);
});

describe('SQLite locked by another writer beyond its busy timeout', () => {
  let t: TestApp;
  let logger: CapturingLogger;
  let other: DataSource;

  beforeEach(async () => {
    logger = new CapturingLogger();
    t = await startTestApp('sqlite', 'fastify', {}, logger);
    other = new DataSource({ type: 'better-sqlite3', database: sqlitePath({ dataDir: t.dataDir }) });
    await other.initialize();
  });
  afterEach(async () => {
    await other.destroy();
    await t.close();
  });

  it('answers 503 with Retry-After (JSON and page) while writes are locked out, and serves again once the lock is gone', async () => {
    const cookie = await signIn(t);
    const flow = await startFlow(t);
    const csrf = (await t.http().get('/device/api/session').set('Cookie', cookie)).body.csrf_token;
    const [codesBefore] = await other.query('SELECT COUNT(*) AS n FROM device_codes');

    // Another process's write transaction; the app's writes wait out busy_timeout (5 s), then fail.
    const lock = other.createQueryRunner();
    await lock.query('BEGIN EXCLUSIVE');
    let json: Response, page: Response;
    try {
      json = await requestDeviceCode(t);
      page = await t.http().post('/device').set('Cookie', cookie).type('form').send({ user_code: flow.user_code, _csrf: csrf });
    } finally {
      await lock.query('ROLLBACK');
      await lock.release();
    }
    expect({ status: json.status, body: json.body, retryAfter: json.headers['retry-after'] }).toEqual({ status: 503, body: UNAVAILABLE, retryAfter: '5' });
    expect({ status: page.status, retryAfter: page.headers['retry-after'] }).toEqual({ status: 503, retryAfter: '5' });
    expect(page.text).toContain('The service is temporarily unavailable');
    expect(logger.lines.filter((line) => line.startsWith('database unavailable'))).toEqual([
      'database unavailable: QueryFailedError (SQLITE_BUSY)',
      'database unavailable on the verification page: QueryFailedError (SQLITE_BUSY)',
    ]);

    expect(await other.query('SELECT COUNT(*) AS n FROM device_codes')).toEqual([codesBefore]);
    expect((await requestDeviceCode(t)).status).toBe(200);
    expect((await decideViaPages(t, cookie, flow.user_code)).status).toBe(200);
  }, 30_000);
});

describe.each(MATRIX)('GET /health on %s with %s', (database, adapter) => {
  let host: HostApp | undefined;
  afterEach(async () => {
    await host?.close();
    host = undefined;
  });

  it('answers 200 {status: ok, database: up}, not cached, at /health by default', async () => {
    host = await startHostApp([hostTypeOrm(database), DeviceAuthModule.forRoot(hostOptions())], [], adapter);
    const res = await host.http().get('/health');
    expect({ status: res.status, body: res.body, cache: res.headers['cache-control'] }).toEqual({ status: 200, body: HEALTH_UP, cache: 'no-store' });
    expect(res.headers['content-type']).toMatch(/^application\/json/);
  });

  it('moves to healthPath, and with healthPath: false leaves /health to the host', async () => {
    @Controller()
    class HostHealthController {
      @Get('health')
      health() {
        return { mine: true };
      }
    }
    host = await startHostApp([hostTypeOrm(database), DeviceAuthModule.forRoot(hostOptions({ healthPath: '/ops/database' }))], [], adapter);
    expect((await host.http().get('/ops/database')).body).toEqual(HEALTH_UP);
    expect((await host.http().get('/health')).status).toBe(404);
    await host.close();

    @Module({ controllers: [HostHealthController] })
    class HostHealthModule {}
    host = await startHostApp([hostTypeOrm(database), HostHealthModule, DeviceAuthModule.forRoot(hostOptions({ healthPath: false }))], [], adapter);
    expect((await host.http().get('/health')).body).toEqual({ mine: true });
  });
});
