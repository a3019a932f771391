import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection, createConnection } from 'mysql2/promise';
import { loadOrCreateSecrets } from '../../src/demo/demo-secrets';
import { csrfFrom, DEVICE_CODE_GRANT_TYPE } from '../support/flow';
import { DemoProcess, FetchedResponse, getPage, postForm, startDemoProcess } from '../support/demo-process';
import { MARIADB_SERVER_URL, mariadbQuery } from '../support/mariadb';
import { DATABASES } from '../support/test-app';

/**
 * Three real demo processes (`node dist/src/demo/main.js`) on one MariaDB database, as behind a
 * load balancer: every piece of state (codes, intervals, guessing counters) lives in the
 * database, and the signing key and session secret are the same on every instance. Real time:
 * the processes have no test clock, so where the protocol needs a wait, the test waits.
 */

const FAILURE_LIMIT = 3;
const USERS = 'alice:alice-pw,bob:bob-pw';
const FIFTEEN_MINUTES_MS = 15 * 60 * 1000;

const describeOnMariadb = DATABASES.includes('mariadb') ? describe : describe.skip;

describeOnMariadb('three demo instances on one MariaDB database', () => {
  const database = `nda_multi_${Date.now()}_${process.pid}`;
  const databaseUrl = `${MARIADB_SERVER_URL.replace(/\/+$/, '')}/${database}`;
  const dirs: string[] = [];
  let instances: DemoProcess[] = [];
  let db: Connection;

  /** One DATA_DIR per instance, each with a copy of the same demo-secrets.json. */
  function dataDirs(count: number): string[] {
    const source = mkdtempSync(join(tmpdir(), 'nda-multi-secrets-'));
    dirs.push(source);
    loadOrCreateSecrets(source);
    return Array.from({ length: count }, () => {
      const dir = mkdtempSync(join(tmpdir(), 'nda-multi-'));
      dirs.push(dir);
      copyFileSync(join(source, 'demo-secrets.json'), join(dir, 'demo-secrets.json'));
      return dir;
    });
  }

  function start(dataDir: string, adapter: 'fastify' | 'express'): Promise<DemoProcess> {
    return startDemoProcess({
      DATA_DIR: dataDir,
      DATABASE_URL: databaseUrl,
      HTTP_ADAPTER: adapter,
      // One public URL, as behind a load balancer: the same issuer on every instance.
      PUBLIC_URL: 'http://auth.multi.test',
      DEMO_USERS: USERS,
      // Short, to keep the test short; long enough that "right away" is well inside it on a busy machine.
      DEVICE_POLL_INTERVAL: '2',
      VERIFICATION_FAILURE_LIMIT: String(FAILURE_LIMIT),
      DEVICE_AUTHORIZATION_RATE_LIMIT: '0',
    });
  }

  beforeAll(async () => {
    await mariadbQuery(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    const [dirA, dirB, dirC] = dataDirs(3);
    // All three at once on the empty database: they take turns migrating (a named lock), so
    // none fails with "table already exists".
    const started = await Promise.allSettled([start(dirA, 'fastify'), start(dirB, 'express'), start(dirC, 'fastify')]);
    for (const one of started) if (one.status === 'fulfilled') instances.push(one.value);
    for (const one of started) if (one.status === 'rejected') throw one.reason;
    db = await createConnection({ uri: databaseUrl });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(instances.map((instance) => instance.stop()));
    instances = [];
    await db?.end();
    await mariadbQuery(`DROP DATABASE IF EXISTS \`${database}\``);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    for (const table of ['device_codes', 'device_auth_rate_limits', 'refresh_tokens']) await db.query(`DELETE FROM ${table}`);
  });

  async function rows(sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
    const [result] = await db.query(sql, params);
    return result as Record<string, unknown>[];
  }

  async function codeRow(userCode: string): Promise<Record<string, unknown>> {
    const found = await rows('SELECT * FROM device_codes WHERE user_code = ?', [userCode.replace('-', '')]);
    expect(found).toHaveLength(1);
    return found[0];
  }

  async function startFlowAt(instance: DemoProcess): Promise<{ device_code: string; user_code: string; interval: number }> {
    const res = await postForm(instance.url, '/oauth/device_authorization', { client_id: 'demo-cli', scope: 'read' });
    expect(res.status).toBe(200);
    return res.json;
  }

  const pollAt = (instance: DemoProcess, deviceCode: string) =>
    postForm(instance.url, '/oauth/token', { grant_type: DEVICE_CODE_GRANT_TYPE, device_code: deviceCode, client_id: 'demo-cli' });

  const answer = (res: FetchedResponse) => ({ status: res.status, body: res.json });

  async function signInAt(instance: DemoProcess, username: string): Promise<string> {
    const res = await postForm(instance.url, '/login', { username, password: `${username}-pw`, next: '/device' });
    expect(res.status).toBe(303);
    return res.headers.get('set-cookie')!.split(';')[0];
  }

  async function csrfAt(instance: DemoProcess, cookie: string): Promise<string> {
    const entry = await getPage(instance.url, '/device', cookie);
    expect(entry.status).toBe(200);
    return csrfFrom(entry.text);
  }

  const PENDING = { status: 400, body: { error: 'authorization_pending', error_description: 'The user has not yet approved or denied this request.' } };
  const slowDown = (interval: number) => ({
    status: 400,
    body: { error: 'slow_down', error_description: `Polling too fast; wait at least ${interval} seconds between requests.`, interval },
  });

  it('started together on an empty database, the instances migrated it once, without an error', async () => {
    const [migrations] = await db.query('SELECT name FROM migrations ORDER BY id');
    expect((migrations as { name: string }[]).map((m) => m.name)).toEqual([
      'CreateDeviceAuthTables1764780000000',
      'CreateRefreshTokens1764790000000',
      'CreateDeviceAuthClients1764800000000',
    ]);
    for (const instance of instances) expect(instance.output()).not.toMatch(/already exists|ERROR/);
  });

  it('slow_down is one state: a poll at A then at B is slowed, and every instance enforces the grown interval', async () => {
    const [a, b, c] = instances;
    const flow = await startFlowAt(a);
    expect(flow.interval).toBe(2);
    expect(answer(await pollAt(a, flow.device_code))).toEqual(PENDING);
    // Right away at another instance: too early by the interval stored in the row.
    expect(answer(await pollAt(b, flow.device_code))).toEqual(slowDown(7));
    expect((await codeRow(flow.user_code)).interval_seconds).toBe(7);

    // Longer than the configured 2 s, shorter than the grown 7 s: C goes by the row, not its config.
    await new Promise((r) => setTimeout(r, 2100));
    expect(answer(await pollAt(c, flow.device_code))).toEqual(slowDown(12));

    // Waiting the grown 12 s out, written as the last poll moved back by that much (no sleep).
    await db.query('UPDATE device_codes SET last_polled_at = last_polled_at - 12000 WHERE user_code = ?', [flow.user_code.replace('-', '')]);
    expect(answer(await pollAt(a, flow.device_code))).toEqual(PENDING);
    expect(answer(await pollAt(b, flow.device_code))).toEqual(slowDown(17));
    const row = await codeRow(flow.user_code);
    expect(row.interval_seconds).toBe(17);
    expect(row.status).toBe('pending');
  });

  it('an approved code (approved through C) is redeemed exactly once while polls hit all three instances', async () => {
    const [a, , c] = instances;
    const flow = await startFlowAt(a);
    const cookie = await signInAt(c, 'alice');
    const confirm = await postForm(c.url, '/device', { user_code: flow.user_code, _csrf: await csrfAt(c, cookie) }, cookie);
    expect(confirm.status).toBe(200);
    const approved = await postForm(c.url, '/device/approve', { user_code: flow.user_code, _csrf: csrfFrom(confirm.text) }, cookie);
    expect(approved.status).toBe(200);
    expect(approved.text).toContain('Device connected');

    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => pollAt(instances[i % 3], flow.device_code)));
    const winners = results.filter((res) => res.status === 200);
    expect(winners).toHaveLength(1);
    expect(winners[0].json).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 3600,
      scope: 'read',
      refresh_token: expect.any(String),
    });
    for (const loser of results.filter((res) => res.status !== 200)) {
      expect(answer(loser)).toEqual({ status: 400, body: { error: 'invalid_grant', error_description: 'The device code has already been used.' } });
    }
    const row = await codeRow(flow.user_code);
    expect([row.status, row.user_id]).toEqual(['consumed', 'alice']);
    // A loser that had issued tokens took them back: one live refresh token, the winner's.
    expect(await rows("SELECT user_id FROM refresh_tokens WHERE status = 'active'")).toEqual([{ user_id: 'alice' }]);

    // The token, signed with the shared key, is accepted by every instance.
    for (const instance of instances) {
      const me = await fetch(`${instance.url}/api/me`, { headers: { authorization: `Bearer ${winners[0].json.access_token}` } });
      expect(me.status).toBe(200);
      expect(await me.json()).toEqual({ user: 'alice', client_id: 'demo-cli', scopes: ['read'] });
    }
  });

  it('guessing limits are shared: wrong codes spread over the instances lock the user out on all of them', async () => {
    await outsideAWindowBoundary();
    const flow = await startFlowAt(instances[0]);
    const cookie = await signInAt(instances[1], 'bob');
    const csrf = await csrfAt(instances[2], cookie);
    const wrong = (i: number) => `ZZZZ-ZZZ${'BCD'[i]}`;

    for (let i = 0; i < FAILURE_LIMIT; i++) {
      const res = await postForm(instances[i].url, '/device', { user_code: wrong(i), _csrf: csrf }, cookie);
      expect(res.status).toBe(404);
      expect(res.text).toContain('That code is not right');
    }
    for (const instance of instances) {
      for (const userCode of [wrong(0), flow.user_code]) {
        const res = await postForm(instance.url, '/device', { user_code: userCode, _csrf: csrf }, cookie);
        expect(res.status).toBe(429);
        expect(res.text).toContain('Too many wrong codes');
        const retryAfter = Number(res.headers.get('retry-after'));
        expect(retryAfter).toBeGreaterThanOrEqual(1);
        expect(retryAfter).toBeLessThanOrEqual(FIFTEEN_MINUTES_MS / 1000);
      }
    }
    expect((await codeRow(flow.user_code)).status).toBe('pending');
  });

  /**
   * The guessing limit counts in fixed 15-minute windows of real time; a test that straddled a
   * window's end would see the count restart. Close to the end, wait for the next window.
   */
  async function outsideAWindowBoundary(): Promise<void> {
    const left = FIFTEEN_MINUTES_MS - (Date.now() % FIFTEEN_MINUTES_MS);
    if (left < 5000) await new Promise((r) => setTimeout(r, left + 100));
  }
});
