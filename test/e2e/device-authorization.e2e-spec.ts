import { createHash } from 'node:crypto';
import { poll, requestDeviceCode, startFlow } from '../support/flow';
import { CONFIDENTIAL_SECRET, MATRIX, startTestApp, TestApp } from '../support/test-app';

const USER_CODE = /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/;
const DEVICE_CODE = /^[A-Za-z0-9_-]{43,}$/;
const PENDING = { error: 'authorization_pending', error_description: 'The user has not yet approved or denied this request.' };
const EXPIRED = { error: 'expired_token', error_description: 'The device code has expired; start a new device authorization.' };
const CLIENT_AUTH_FAILED = { error: 'invalid_client', error_description: 'Client authentication failed.' };
const BASIC_CHALLENGE = 'Basic realm="device-auth", charset="UTF-8"';
const RATE_LIMITED = { error: 'temporarily_unavailable', error_description: 'Too many device authorization requests; try again later.' };

function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** The response body for the defaults (900 s, 5 s) on the test app's PUBLIC_URL. */
function expectedBody(userCode: string, expiresIn = 900, interval = 5) {
  return {
    device_code: expect.stringMatching(DEVICE_CODE),
    user_code: expect.stringMatching(USER_CODE),
    verification_uri: 'http://device.test/device',
    verification_uri_complete: expect.stringContaining(userCode),
    expires_in: expiresIn,
    interval,
  };
}

async function countRows(t: TestApp): Promise<number> {
  const [{ n }] = await t.dataSource.query('SELECT COUNT(*) AS n FROM device_codes');
  return Number(n);
}

describe.each(MATRIX)('device authorization endpoint on %s with %s', (database, adapter) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp(database, adapter);
  });
  afterAll(() => t.close());
  beforeEach(() => t.clearTables());

  describe('response', () => {
    it('answers 200 with the RFC 8628 §3.2 members, integers, no-store and JSON', async () => {
      const res = await requestDeviceCode(t);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body).toEqual(expectedBody(res.body.user_code));
      expect(Object.keys(res.body).sort()).toEqual(['device_code', 'expires_in', 'interval', 'user_code', 'verification_uri', 'verification_uri_complete']);
      expect(res.body).not.toHaveProperty('verification_url');
      expect(res.text).not.toContain('verification_url');
      expect(Number.isInteger(res.body.expires_in)).toBe(true);
      expect(Number.isInteger(res.body.interval)).toBe(true);
      // JSON integers, not strings.
      expect(res.text).toMatch(/"expires_in":900[,}]/);
      expect(res.text).toMatch(/"interval":5[,}]/);
    });

    it('gives a base-20 XXXX-XXXX user code and a device code of at least 43 base64url characters', async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 5; i++) {
        const flow = await startFlow(t);
        expect(flow.user_code).toMatch(USER_CODE);
        expect(flow.device_code).toMatch(DEVICE_CODE);
        seen.add(flow.device_code);
        seen.add(flow.user_code);
      }
      expect(seen.size).toBe(10);
    });

    it('puts the user code in verification_uri_complete, on the verification_uri', async () => {
      const flow = await startFlow(t);
      expect(flow.verification_uri).toBe('http://device.test/device');
      expect(flow.verification_uri_complete).toContain(flow.user_code);
      const url = new URL(flow.verification_uri_complete);
      expect(`${url.origin}${url.pathname}`).toBe(flow.verification_uri);
      expect(url.searchParams.get('user_code')).toBe(flow.user_code);
    });

    it('stores only the SHA-256 hex of the device code, never the code itself', async () => {
      const flow = await startFlow(t, { client_id: 'demo-cli', scope: 'read' });
      const rows: Record<string, unknown>[] = await t.dataSource.query('SELECT * FROM device_codes');
      expect(rows).toHaveLength(1);
      const [row] = rows;
      expect(row.device_code_hash).toBe(sha256Hex(flow.device_code));
      expect(row.device_code_hash).toMatch(/^[0-9a-f]{64}$/);
      for (const [column, value] of Object.entries(row)) {
        if (value === null) continue;
        expect({ column, contains: String(value).includes(flow.device_code) }).toEqual({ column, contains: false });
      }
      expect(row).toMatchObject({
        user_code: flow.user_code.replace('-', ''),
        client_id: 'demo-cli',
        scope: 'read',
        status: 'pending',
        user_id: null,
        last_polled_at: null,
        decided_at: null,
      });
      expect(Number(row.interval_seconds)).toBe(5);
      expect(Number(row.created_at)).toBe(t.clock.now());
      expect(Number(row.expires_at)).toBe(t.clock.now() + 900_000);
    });
  });

  describe('scope', () => {
    it('records a requested scope the client is allowed', async () => {
      const res = await requestDeviceCode(t, { client_id: 'demo-cli', scope: 'read' });
      expect(res.status).toBe(200);
      const [row] = await t.dataSource.query('SELECT scope FROM device_codes');
      expect(row).toEqual({ scope: 'read' });
    });

    it('refuses a scope the client is not allowed with 400 invalid_scope and inserts nothing', async () => {
      const res = await requestDeviceCode(t, { client_id: 'demo-cli', scope: 'admin' });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'invalid_scope', error_description: "The scope 'admin' is not allowed for this client." });
      expect(res.headers['cache-control']).toBe('no-store');
      expect(await countRows(t)).toBe(0);
    });

    it('refuses a mix of allowed and disallowed scopes', async () => {
      const res = await requestDeviceCode(t, { client_id: 'demo-cli', scope: 'read admin' });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'invalid_scope', error_description: "The scope 'admin' is not allowed for this client." });
      expect(await countRows(t)).toBe(0);
    });

    it("refuses a scope another client has but this one lacks (tv-app asks for write)", async () => {
      const res = await t.http().post('/oauth/device_authorization').auth('tv-app', CONFIDENTIAL_SECRET).type('form').send({ scope: 'write' });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'invalid_scope', error_description: "The scope 'write' is not allowed for this client." });
      expect(await countRows(t)).toBe(0);
    });

    it("gives the client's default scopes when no scope is requested", async () => {
      const res = await requestDeviceCode(t, { client_id: 'demo-cli' });
      expect(res.status).toBe(200);
      const [row] = await t.dataSource.query('SELECT scope FROM device_codes');
      expect(row).toEqual({ scope: 'read write' });
    });

    it('dedupes and keeps the order of requested scopes', async () => {
      const res = await requestDeviceCode(t, { client_id: 'demo-cli', scope: 'write read write' });
      expect(res.status).toBe(200);
      const [row] = await t.dataSource.query('SELECT scope FROM device_codes');
      expect(row).toEqual({ scope: 'write read' });
    });
  });

  describe('client authentication', () => {
    it('accepts a public client with client_id only', async () => {
      const res = await requestDeviceCode(t, { client_id: 'demo-cli' });
      expect(res.status).toBe(200);
      expect(res.body).toEqual(expectedBody(res.body.user_code));
    });

    it('accepts the confidential client by HTTP Basic and by client_secret_post', async () => {
      const basic = await t.http().post('/oauth/device_authorization').auth('tv-app', CONFIDENTIAL_SECRET).type('form').send({});
      expect(basic.status).toBe(200);
      expect(basic.body).toEqual(expectedBody(basic.body.user_code));
      const post = await requestDeviceCode(t, { client_id: 'tv-app', client_secret: CONFIDENTIAL_SECRET });
      expect(post.status).toBe(200);
      expect(post.body).toEqual(expectedBody(post.body.user_code));
      const rows = await t.dataSource.query('SELECT client_id, scope FROM device_codes');
      expect(rows).toEqual([
        { client_id: 'tv-app', scope: 'read' },
        { client_id: 'tv-app', scope: 'read' },
      ]);
    });

    it('refuses a wrong secret by HTTP Basic with 401 invalid_client and WWW-Authenticate', async () => {
      const res = await t.http().post('/oauth/device_authorization').auth('tv-app', 'wrong-secret-0123456789').type('form').send({});
      expect(res.status).toBe(401);
      expect(res.body).toEqual(CLIENT_AUTH_FAILED);
      expect(res.headers['www-authenticate']).toBe(BASIC_CHALLENGE);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(await countRows(t)).toBe(0);
    });

    it('refuses a wrong client_secret in the body with 401 invalid_client', async () => {
      const res = await requestDeviceCode(t, { client_id: 'tv-app', client_secret: 'wrong-secret-0123456789' });
      expect(res.status).toBe(401);
      expect(res.body).toEqual(CLIENT_AUTH_FAILED);
      expect(await countRows(t)).toBe(0);
    });

    it('refuses the confidential client without its secret', async () => {
      const res = await requestDeviceCode(t, { client_id: 'tv-app' });
      expect(res.status).toBe(401);
      expect(res.body).toEqual(CLIENT_AUTH_FAILED);
      expect(res.headers['www-authenticate']).toBeUndefined();
      expect(await countRows(t)).toBe(0);
    });

    it('refuses an unknown client and a missing client_id with 401 invalid_client', async () => {
      const unknown = await requestDeviceCode(t, { client_id: 'nobody' });
      expect(unknown.status).toBe(401);
      expect(unknown.body).toEqual(CLIENT_AUTH_FAILED);
      const missing = await requestDeviceCode(t, {});
      expect(missing.status).toBe(401);
      expect(missing.body).toEqual({ error: 'invalid_client', error_description: 'No client authentication was included: send client_id.' });
      expect(await countRows(t)).toBe(0);
    });

    it('authenticates the client before judging the scope', async () => {
      const res = await requestDeviceCode(t, { client_id: 'tv-app', client_secret: 'wrong-secret-0123456789', scope: 'admin' });
      expect(res.status).toBe(401);
      expect(res.body).toEqual(CLIENT_AUTH_FAILED);
    });
  });

  describe('body encodings', () => {
    it('accepts a JSON body and answers JSON', async () => {
      const res = await t.http().post('/oauth/device_authorization').send({ client_id: 'demo-cli', scope: 'read' });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body).toEqual(expectedBody(res.body.user_code));
      const [row] = await t.dataSource.query('SELECT client_id, scope FROM device_codes');
      expect(row).toEqual({ client_id: 'demo-cli', scope: 'read' });
    });

    it('accepts a form-encoded body and answers JSON', async () => {
      const res = await t
        .http()
        .post('/oauth/device_authorization')
        .set('Content-Type', 'application/x-www-form-urlencoded')
        .send('client_id=demo-cli&scope=read+write');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body).toEqual(expectedBody(res.body.user_code));
      const [row] = await t.dataSource.query('SELECT client_id, scope FROM device_codes');
      expect(row).toEqual({ client_id: 'demo-cli', scope: 'read write' });
    });

    it('answers errors as JSON for a JSON request too', async () => {
      const res = await t.http().post('/oauth/device_authorization').send({ client_id: 'demo-cli', scope: 'admin' });
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body).toEqual({ error: 'invalid_scope', error_description: "The scope 'admin' is not allowed for this client." });
    });
  });

  it('records where the device asked from', async () => {
    await t.http().post('/oauth/device_authorization').set('User-Agent', 'my-cli/1.2').type('form').send({ client_id: 'demo-cli' });
    const [row] = await t.dataSource.query('SELECT requester_ip, requester_user_agent FROM device_codes');
    expect(row.requester_user_agent).toBe('my-cli/1.2');
    expect(typeof row.requester_ip).toBe('string');
    expect(row.requester_ip).not.toBe('');
  });

  describe('environment', () => {
    describe('DEVICE_CODE_TTL=60 and DEVICE_POLL_INTERVAL=2', () => {
      let e: TestApp;
      beforeAll(async () => {
        e = await startTestApp(database, adapter, { DEVICE_CODE_TTL: '60', DEVICE_POLL_INTERVAL: '2' });
      });
      afterAll(() => e.close());
      beforeEach(() => e.clearTables());

      it('answers expires_in 60 and interval 2', async () => {
        const res = await requestDeviceCode(e);
        expect(res.status).toBe(200);
        expect(res.body).toEqual(expectedBody(res.body.user_code, 60, 2));
        const [row] = await e.dataSource.query('SELECT interval_seconds, expires_at FROM device_codes');
        expect(Number(row.interval_seconds)).toBe(2);
        expect(Number(row.expires_at)).toBe(e.clock.now() + 60_000);
      });

      it('throttles polls at 2 s and expires the code after 60 s', async () => {
        const flow = await startFlow(e);
        expect((await poll(e, flow.device_code)).body).toEqual(PENDING);
        e.clock.advance(1500);
        expect((await poll(e, flow.device_code)).body).toEqual(PENDING);
        e.clock.advance(1000);
        expect((await poll(e, flow.device_code)).body).toEqual({
          error: 'slow_down',
          error_description: 'Polling too fast; wait at least 7 seconds between requests.',
          interval: 7,
        });
        e.clock.advance(60_000 - 2500);
        expect((await poll(e, flow.device_code)).body).toEqual(EXPIRED);
      });
    });

    describe('DEVICE_AUTHORIZATION_RATE_LIMIT=3', () => {
      let e: TestApp;
      beforeAll(async () => {
        e = await startTestApp(database, adapter, { DEVICE_AUTHORIZATION_RATE_LIMIT: '3' });
      });
      afterAll(() => e.close());
      beforeEach(() => e.clearTables());

      it('answers the 4th request from one client and IP within a minute with 429, Retry-After and an OAuth error', async () => {
        for (let i = 0; i < 3; i++) expect((await requestDeviceCode(e)).status).toBe(200);
        const res = await requestDeviceCode(e);
        expect(res.status).toBe(429);
        expect(res.headers['content-type']).toMatch(/^application\/json/);
        expect(res.body).toEqual(RATE_LIMITED);
        expect(res.headers['retry-after']).toMatch(/^\d+$/);
        const retryAfter = Number(res.headers['retry-after']);
        expect(retryAfter).toBeGreaterThanOrEqual(1);
        expect(retryAfter).toBeLessThanOrEqual(60);
        expect(res.headers['cache-control']).toBe('no-store');
        expect(await countRows(e)).toBe(3);
        // The same answer, as JSON.
        const json = await e.http().post('/oauth/device_authorization').send({ client_id: 'demo-cli' });
        expect(json.status).toBe(429);
        expect(json.body).toEqual(RATE_LIMITED);
        expect(await countRows(e)).toBe(3);
      });

      it('counts per client: another client is still served', async () => {
        for (let i = 0; i < 3; i++) expect((await requestDeviceCode(e)).status).toBe(200);
        expect((await requestDeviceCode(e)).status).toBe(429);
        const tv = await e.http().post('/oauth/device_authorization').auth('tv-app', CONFIDENTIAL_SECRET).type('form').send({});
        expect(tv.status).toBe(200);
        expect(await countRows(e)).toBe(4);
      });

      it('serves the client again once Retry-After has passed', async () => {
        for (let i = 0; i < 3; i++) expect((await requestDeviceCode(e)).status).toBe(200);
        const limited = await requestDeviceCode(e);
        expect(limited.status).toBe(429);
        e.clock.advance(Number(limited.headers['retry-after']) * 1000);
        const res = await requestDeviceCode(e);
        expect(res.status).toBe(200);
        expect(res.body).toEqual(expectedBody(res.body.user_code));
      });
    });

    describe('DEVICE_AUTHORIZATION_RATE_LIMIT=0', () => {
      let e: TestApp;
      beforeAll(async () => {
        e = await startTestApp(database, adapter, { DEVICE_AUTHORIZATION_RATE_LIMIT: '0' });
      });
      afterAll(() => e.close());
      beforeEach(() => e.clearTables());

      it('never limits (more than the default 30 per minute all succeed)', async () => {
        for (let i = 0; i < 40; i++) {
          const res = await requestDeviceCode(e);
          expect(res.status).toBe(200);
        }
        expect(await countRows(e)).toBe(40);
        const [{ n }] = await e.dataSource.query('SELECT COUNT(*) AS n FROM device_auth_rate_limits');
        expect(Number(n)).toBe(0);
      });
    });
  });
});
