import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEVICE_CODE_GRANT_TYPE, decideViaPages, poll, requestDeviceCode, signIn, startFlow } from '../support/flow';
import { CONFIDENTIAL_SECRET, MATRIX, startTestApp, TestApp } from '../support/test-app';

const PENDING = { error: 'authorization_pending', error_description: 'The user has not yet approved or denied this request.' };
const DENIED = { error: 'access_denied', error_description: 'The user denied the request.' };
const EXPIRED = { error: 'expired_token', error_description: 'The device code has expired; start a new device authorization.' };
const UNKNOWN_CODE = { error: 'invalid_grant', error_description: 'The device code is not valid for this client.' };
const USED_CODE = { error: 'invalid_grant', error_description: 'The device code has already been used.' };
const CLIENT_AUTH_FAILED = { error: 'invalid_client', error_description: 'Client authentication failed.' };
const BASIC_CHALLENGE = 'Basic realm="device-auth", charset="UTF-8"';
const slowDown = (interval: number) => ({
  error: 'slow_down',
  error_description: `Polling too fast; wait at least ${interval} seconds between requests.`,
  interval,
});
const TOKEN = (scope: string) => ({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, scope });

const TTL_MS = 900 * 1000;
const INTERVAL_MS = 5 * 1000;

interface Row {
  status: string;
  user_id: string | null;
  interval_seconds: number;
  last_polled_at: number | null;
}

describe.each(MATRIX)('token endpoint on %s with %s', (database, adapter) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp(database, adapter);
  });
  afterAll(() => t.close());
  beforeEach(() => t.clearTables());

  /** The only device_codes row, with numbers as numbers on every driver. */
  async function row(): Promise<Row> {
    const rows: Record<string, unknown>[] = await t.dataSource.query('SELECT status, user_id, interval_seconds, last_polled_at FROM device_codes');
    expect(rows).toHaveLength(1);
    const [r] = rows;
    return {
      status: r.status as string,
      user_id: (r.user_id as string | null) ?? null,
      interval_seconds: Number(r.interval_seconds),
      last_polled_at: r.last_polled_at === null ? null : Number(r.last_polled_at),
    };
  }

  async function approve(userCode: string, user = 'alice') {
    const decided = await decideViaPages(t, await signIn(t, user), userCode, 'approve');
    expect(decided.status).toBe(200);
  }

  async function deny(userCode: string, user = 'alice') {
    const decided = await decideViaPages(t, await signIn(t, user), userCode, 'deny');
    expect(decided.status).toBe(200);
  }

  function pollTv(deviceCode: string, how: 'basic' | 'post' = 'basic', secret = CONFIDENTIAL_SECRET) {
    const form = { grant_type: DEVICE_CODE_GRANT_TYPE, device_code: deviceCode };
    return how === 'basic'
      ? t.http().post('/oauth/token').auth('tv-app', secret).type('form').send(form)
      : t.http().post('/oauth/token').type('form').send({ ...form, client_id: 'tv-app', client_secret: secret });
  }

  function startTvFlow() {
    return t
      .http()
      .post('/oauth/device_authorization')
      .auth('tv-app', CONFIDENTIAL_SECRET)
      .type('form')
      .send({})
      .then((res) => {
        expect(res.status).toBe(200);
        return res.body as { device_code: string; user_code: string };
      });
  }

  it('answers authorization_pending while the user has not decided', async () => {
    const flow = await startFlow(t);
    const res = await poll(t, flow.device_code);
    expect(res.status).toBe(400);
    expect(res.body).toEqual(PENDING);
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('issues a token once after approval through the pages', async () => {
    const flow = await startFlow(t, { client_id: 'demo-cli', scope: 'read' });
    const cookie = await signIn(t, 'alice');
    const decided = await decideViaPages(t, cookie, flow.user_code);
    expect(decided.status).toBe(200);
    const res = await poll(t, flow.device_code);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, scope: 'read' });
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['pragma']).toBe('no-cache');
    const me = await t.http().get('/api/me').set('Authorization', `Bearer ${res.body.access_token}`);
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ user: 'alice', client_id: 'demo-cli', scopes: ['read'] });
    const [row] = await t.dataSource.query('SELECT status, user_id FROM device_codes');
    expect(row).toEqual({ status: 'consumed', user_id: 'alice' });
  });

  describe('expiry', () => {
    it('answers expired_token for a pending code that outlived expires_in', async () => {
      const flow = await startFlow(t);
      expect(flow.expires_in).toBe(900);
      t.clock.advance(TTL_MS - 1);
      expect((await poll(t, flow.device_code)).body).toEqual(PENDING);
      t.clock.advance(1);
      const res = await poll(t, flow.device_code);
      expect(res.status).toBe(400);
      expect(res.body).toEqual(EXPIRED);
      expect(res.headers['cache-control']).toBe('no-store');
      expect((await row()).status).toBe('pending');
    });

    it('answers expired_token for an approved code that was never redeemed in time', async () => {
      const flow = await startFlow(t);
      await approve(flow.user_code);
      expect((await row()).status).toBe('authorized');
      t.clock.advance(TTL_MS);
      const res = await poll(t, flow.device_code);
      expect(res.status).toBe(400);
      expect(res.body).toEqual(EXPIRED);
      // Too late is too late: a second try does not redeem it either.
      expect((await poll(t, flow.device_code)).body).toEqual(EXPIRED);
      expect(await row()).toMatchObject({ status: 'authorized', user_id: 'alice' });
    });

    it('answers expired_token for a denied code past its expiry', async () => {
      const flow = await startFlow(t);
      await deny(flow.user_code);
      t.clock.advance(TTL_MS + 1000);
      const res = await poll(t, flow.device_code);
      expect(res.status).toBe(400);
      expect(res.body).toEqual(EXPIRED);
      expect((await row()).status).toBe('denied');
    });
  });

  describe('pending and unknown codes', () => {
    it('answers authorization_pending on every poll made at the interval', async () => {
      const flow = await startFlow(t);
      expect(flow.interval).toBe(5);
      for (let i = 0; i < 6; i++) {
        const res = await poll(t, flow.device_code);
        expect(res.status).toBe(400);
        expect(res.body).toEqual(PENDING);
        t.clock.advance(INTERVAL_MS);
      }
      expect(await row()).toMatchObject({ status: 'pending', interval_seconds: 5 });
    });

    it('allows a poll interval - 0.5 s after the previous one, and slows one a millisecond sooner', async () => {
      const flow = await startFlow(t);
      expect((await poll(t, flow.device_code)).body).toEqual(PENDING);
      t.clock.advance(INTERVAL_MS - 500);
      expect((await poll(t, flow.device_code)).body).toEqual(PENDING);
      t.clock.advance(INTERVAL_MS - 501);
      expect((await poll(t, flow.device_code)).body).toEqual(slowDown(10));
    });

    it('answers invalid_grant for a device code it never issued', async () => {
      await startFlow(t);
      const res = await poll(t, 'x'.repeat(43));
      expect(res.status).toBe(400);
      expect(res.body).toEqual(UNKNOWN_CODE);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(await row()).toMatchObject({ status: 'pending', last_polled_at: null });
    });

    it('does not accept the user code, or the stored hash, as a device code', async () => {
      const flow = await startFlow(t);
      const [{ device_code_hash: hash }] = await t.dataSource.query('SELECT device_code_hash FROM device_codes');
      expect((await poll(t, flow.user_code)).body).toEqual(UNKNOWN_CODE);
      expect((await poll(t, hash)).body).toEqual(UNKNOWN_CODE);
    });
  });

  describe('denial', () => {
    it('answers access_denied on every poll after the user denied through the pages', async () => {
      const flow = await startFlow(t);
      await deny(flow.user_code);
      const first = await poll(t, flow.device_code);
      expect(first.status).toBe(400);
      expect(first.body).toEqual(DENIED);
      // Immediately again: a final answer is never turned into slow_down.
      const second = await poll(t, flow.device_code);
      expect(second.status).toBe(400);
      expect(second.body).toEqual(DENIED);
      expect(await row()).toMatchObject({ status: 'denied', user_id: 'alice' });
    });

    it('answers access_denied right after a pending poll, with no slow_down in between', async () => {
      const flow = await startFlow(t);
      expect((await poll(t, flow.device_code)).body).toEqual(PENDING);
      await deny(flow.user_code);
      t.clock.advance(100);
      expect((await poll(t, flow.device_code)).body).toEqual(DENIED);
    });
  });

  describe('redemption', () => {
    it('gives exactly one of ten simultaneous polls the token; the rest and later polls get invalid_grant', async () => {
      const flow = await startFlow(t);
      await approve(flow.user_code);
      const results = await Promise.all(Array.from({ length: 10 }, () => poll(t, flow.device_code)));
      const winners = results.filter((r) => r.status === 200);
      expect(winners).toHaveLength(1);
      expect(winners[0].body).toEqual(TOKEN('read write'));
      for (const loser of results.filter((r) => r.status !== 200)) {
        expect(loser.status).toBe(400);
        expect(loser.body).toEqual(USED_CODE);
      }
      t.clock.advance(INTERVAL_MS);
      const later = await poll(t, flow.device_code);
      expect(later.status).toBe(400);
      expect(later.body).toEqual(USED_CODE);
      expect(await row()).toMatchObject({ status: 'consumed', user_id: 'alice' });
    });

    it('answers the token right after a pending poll, with no slow_down in between', async () => {
      const flow = await startFlow(t);
      expect((await poll(t, flow.device_code)).body).toEqual(PENDING);
      await approve(flow.user_code);
      t.clock.advance(100);
      const res = await poll(t, flow.device_code);
      expect(res.status).toBe(200);
      expect(res.body).toEqual(TOKEN('read write'));
    });
  });

  describe('scope', () => {
    it('issues scope "read" when read was requested and approved', async () => {
      const flow = await startFlow(t, { client_id: 'demo-cli', scope: 'read' });
      await approve(flow.user_code);
      const res = await poll(t, flow.device_code);
      expect(res.status).toBe(200);
      expect(res.body).toEqual(TOKEN('read'));
    });

    it("issues the client's default scopes when none was requested", async () => {
      const flow = await startFlow(t, { client_id: 'demo-cli' });
      await approve(flow.user_code);
      const res = await poll(t, flow.device_code);
      expect(res.status).toBe(200);
      expect(res.body).toEqual(TOKEN('read write'));
      const me = await t.http().get('/api/me').set('Authorization', `Bearer ${res.body.access_token}`);
      expect(me.body).toEqual({ user: 'alice', client_id: 'demo-cli', scopes: ['read', 'write'] });
    });

    it('treats an empty scope as no scope: the defaults, never a 500', async () => {
      const flow = await startFlow(t, { client_id: 'demo-cli', scope: '' });
      await approve(flow.user_code);
      const res = await poll(t, flow.device_code);
      expect(res.status).toBe(200);
      expect(res.body).toEqual(TOKEN('read write'));
    });
  });

  describe('client authentication', () => {
    it('refuses a wrong secret sent by HTTP Basic with 401 invalid_client and a challenge', async () => {
      const flow = await startTvFlow();
      await approve(flow.user_code);
      const res = await pollTv(flow.device_code, 'basic', 'wrong-secret-0123456789');
      expect(res.status).toBe(401);
      expect(res.body).toEqual(CLIENT_AUTH_FAILED);
      expect(res.headers['www-authenticate']).toBe(BASIC_CHALLENGE);
      expect(res.headers['cache-control']).toBe('no-store');
      expect((await row()).status).toBe('authorized');
    });

    it('refuses a wrong client_secret in the body with 401 invalid_client', async () => {
      const flow = await startTvFlow();
      await approve(flow.user_code);
      const res = await pollTv(flow.device_code, 'post', 'wrong-secret-0123456789');
      expect(res.status).toBe(401);
      expect(res.body).toEqual(CLIENT_AUTH_FAILED);
      expect((await row()).status).toBe('authorized');
    });

    it('refuses a confidential client polling with client_id only', async () => {
      const flow = await startTvFlow();
      await approve(flow.user_code);
      const res = await poll(t, flow.device_code, { client_id: 'tv-app' });
      expect(res.status).toBe(401);
      expect(res.body).toEqual(CLIENT_AUTH_FAILED);
      expect(res.headers['www-authenticate']).toBeUndefined();
      expect((await row()).status).toBe('authorized');
    });

    it('issues to the confidential client authenticated by HTTP Basic', async () => {
      const flow = await startTvFlow();
      await approve(flow.user_code);
      const res = await pollTv(flow.device_code, 'basic');
      expect(res.status).toBe(200);
      expect(res.body).toEqual(TOKEN('read'));
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['pragma']).toBe('no-cache');
      expect((await row()).status).toBe('consumed');
    });

    it('issues to the confidential client authenticated by client_secret_post', async () => {
      const flow = await startTvFlow();
      await approve(flow.user_code);
      const res = await pollTv(flow.device_code, 'post');
      expect(res.status).toBe(200);
      expect(res.body).toEqual(TOKEN('read'));
      expect((await row()).status).toBe('consumed');
    });

    it('issues to a public client that sends client_id only', async () => {
      const flow = await startFlow(t);
      await approve(flow.user_code);
      const res = await poll(t, flow.device_code, { client_id: 'demo-cli' });
      expect(res.status).toBe(200);
      expect(res.body).toEqual(TOKEN('read write'));
    });

    it('issues to a public client that sends HTTP Basic with an empty password, as for an empty client_secret', async () => {
      const flow = await startFlow(t);
      await approve(flow.user_code);
      const res = await t
        .http()
        .post('/oauth/token')
        .set('Authorization', `Basic ${Buffer.from('demo-cli:').toString('base64')}`)
        .type('form')
        .send({ grant_type: DEVICE_CODE_GRANT_TYPE, device_code: flow.device_code });
      expect(res.status).toBe(200);
      expect(res.body).toEqual(TOKEN('read write'));
      expect((await row()).status).toBe('consumed');
    });

    it('refuses a public client that sends a secret', async () => {
      const flow = await startFlow(t);
      await approve(flow.user_code);
      const res = await poll(t, flow.device_code, { client_id: 'demo-cli', client_secret: 'anything-at-all-123' });
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: 'invalid_client', error_description: 'This is a public client: send client_id without a secret.' });
      expect((await row()).status).toBe('authorized');
    });

    it('refuses an unknown client_id and a missing one with 401 invalid_client', async () => {
      const flow = await startFlow(t);
      const unknown = await poll(t, flow.device_code, { client_id: 'nobody' });
      expect(unknown.status).toBe(401);
      expect(unknown.body).toEqual(CLIENT_AUTH_FAILED);
      expect(unknown.headers['www-authenticate']).toBeUndefined();
      const missing = await poll(t, flow.device_code, {});
      expect(missing.status).toBe(401);
      expect(missing.body).toEqual({ error: 'invalid_client', error_description: 'No client authentication was included: send client_id.' });
      expect(await row()).toMatchObject({ status: 'pending', last_polled_at: null });
    });

    it("answers invalid_grant to a client polling another client's device code, and leaves the code alone", async () => {
      const cliFlow = await startFlow(t);
      await approve(cliFlow.user_code);
      const stolen = await pollTv(cliFlow.device_code, 'basic');
      expect(stolen.status).toBe(400);
      expect(stolen.body).toEqual(UNKNOWN_CODE);
      expect((await row()).status).toBe('authorized');
      // The rightful client still redeems it.
      expect((await poll(t, cliFlow.device_code)).body).toEqual(TOKEN('read write'));
    });

    it("answers invalid_grant to a public client polling a confidential client's code", async () => {
      const tvFlow = await startTvFlow();
      await approve(tvFlow.user_code);
      const res = await poll(t, tvFlow.device_code, { client_id: 'demo-cli' });
      expect(res.status).toBe(400);
      expect(res.body).toEqual(UNKNOWN_CODE);
      expect((await row()).status).toBe('authorized');
    });
  });

  describe('body encodings', () => {
    it('accepts a JSON body and answers JSON', async () => {
      const flow = await startFlow(t);
      const pending = await t.http().post('/oauth/token').send({ grant_type: DEVICE_CODE_GRANT_TYPE, device_code: flow.device_code, client_id: 'demo-cli' });
      expect(pending.status).toBe(400);
      expect(pending.headers['content-type']).toMatch(/^application\/json/);
      expect(pending.body).toEqual(PENDING);
      await approve(flow.user_code);
      const res = await t.http().post('/oauth/token').send({ grant_type: DEVICE_CODE_GRANT_TYPE, device_code: flow.device_code, client_id: 'demo-cli' });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body).toEqual(TOKEN('read write'));
    });

    it('accepts a form-encoded body and answers JSON', async () => {
      const flow = await startFlow(t);
      await approve(flow.user_code);
      const body = new URLSearchParams({ grant_type: DEVICE_CODE_GRANT_TYPE, device_code: flow.device_code, client_id: 'demo-cli' }).toString();
      const res = await t.http().post('/oauth/token').set('Content-Type', 'application/x-www-form-urlencoded').send(body);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body).toEqual(TOKEN('read write'));
    });

    it('accepts client_secret_post in a JSON body', async () => {
      const flow = await startTvFlow();
      await approve(flow.user_code);
      const res = await t
        .http()
        .post('/oauth/token')
        .send({ grant_type: DEVICE_CODE_GRANT_TYPE, device_code: flow.device_code, client_id: 'tv-app', client_secret: CONFIDENTIAL_SECRET });
      expect(res.status).toBe(200);
      expect(res.body).toEqual(TOKEN('read'));
    });
  });

  describe('slow_down', () => {
    it('slows a poll 0.2 s after the previous one, then answers pending at the grown interval, never stuck', async () => {
      const flow = await startFlow(t);
      const first = await poll(t, flow.device_code);
      expect(first.body).toEqual(PENDING);
      t.clock.advance(200);
      const fast = await poll(t, flow.device_code);
      expect(fast.status).toBe(400);
      expect(fast.body).toEqual(slowDown(10));
      expect(fast.headers['cache-control']).toBe('no-store');
      expect((await row()).interval_seconds).toBe(10);
      for (let i = 0; i < 4; i++) {
        t.clock.advance(10_000);
        const res = await poll(t, flow.device_code);
        expect(res.status).toBe(400);
        expect(res.body).toEqual(PENDING);
      }
      // The interval stays grown: the old 5 s pace is now too fast.
      expect((await row()).interval_seconds).toBe(10);
      t.clock.advance(INTERVAL_MS);
      expect((await poll(t, flow.device_code)).body).toEqual(slowDown(15));
      expect((await row()).interval_seconds).toBe(15);
    });

    it('always allows the first poll, even at once', async () => {
      const flow = await startFlow(t);
      const res = await poll(t, flow.device_code);
      expect(res.body).toEqual(PENDING);
      const state = await row();
      expect(state.interval_seconds).toBe(5);
      expect(state.last_polled_at).toBe(t.clock.now());
    });

    it('grows the interval by 5 s on each too-fast poll up to the 60 s cap', async () => {
      const flow = await startFlow(t);
      await poll(t, flow.device_code);
      const intervals: number[] = [];
      for (let i = 0; i < 13; i++) {
        t.clock.advance(100);
        const res = await poll(t, flow.device_code);
        expect(res.body.error).toBe('slow_down');
        intervals.push(res.body.interval);
      }
      expect(intervals).toEqual([10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 60, 60]);
      expect((await row()).interval_seconds).toBe(60);
      t.clock.advance(60_000);
      expect((await poll(t, flow.device_code)).body).toEqual(PENDING);
    });

    it('slows every one of parallel too-early polls: each adds its 5 s and is told the interval its write stored', async () => {
      const flow = await startFlow(t);
      expect((await poll(t, flow.device_code)).body).toEqual(PENDING);
      t.clock.advance(100);
      const results = await Promise.all(Array.from({ length: 6 }, () => poll(t, flow.device_code)));
      const told = results.map((res) => {
        expect(res.status).toBe(400);
        expect(res.body).toEqual(slowDown(res.body.interval));
        return res.body.interval as number;
      });
      expect(told.sort((a, b) => a - b)).toEqual([10, 15, 20, 25, 30, 35]);
      expect((await row()).interval_seconds).toBe(35);
      t.clock.advance(35_000);
      expect((await poll(t, flow.device_code)).body).toEqual(PENDING);
    });

    it('of parallel polls on time, one records the poll and the others are slowed', async () => {
      const flow = await startFlow(t);
      const results = await Promise.all(Array.from({ length: 4 }, () => poll(t, flow.device_code)));
      const bodies = results.map((res) => res.body.error as string).sort();
      expect(bodies).toEqual(['authorization_pending', 'slow_down', 'slow_down', 'slow_down']);
      expect((await row()).interval_seconds).toBe(20);
    });

    it('keeps the grown interval and the last poll time in the database, across instances', async () => {
      // Two instances of the app on one database (the same SQLite file, or the same MariaDB).
      const dataDir = mkdtempSync(join(tmpdir(), 'nda-shared-'));
      const a = await startTestApp(database, adapter, { DATA_DIR: dataDir });
      const b = await startTestApp(database, adapter === 'fastify' ? 'express' : 'fastify', { DATA_DIR: dataDir });
      try {
        const flow = await startFlow(a);
        expect((await poll(a, flow.device_code)).body).toEqual(PENDING);
        a.clock.advance(200);
        expect((await poll(a, flow.device_code)).body).toEqual(slowDown(10));
        // The other instance, its clock 6 s after the slowed poll: the row still says 10 s.
        b.clock.advance(a.clock.now() - b.clock.now() + 6_000);
        expect((await poll(b, flow.device_code)).body).toEqual(slowDown(15));
        b.clock.advance(15_000);
        expect((await poll(b, flow.device_code)).body).toEqual(PENDING);
      } finally {
        await b.close();
        await a.close();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });

  describe('order of checks', () => {
    it('answers expired_token for a code that is both denied and expired', async () => {
      const flow = await startFlow(t);
      await deny(flow.user_code);
      expect((await poll(t, flow.device_code)).body).toEqual(DENIED);
      t.clock.advance(TTL_MS);
      expect((await poll(t, flow.device_code)).body).toEqual(EXPIRED);
    });

    it('answers expired_token for a code that was redeemed and then expired', async () => {
      const flow = await startFlow(t);
      await approve(flow.user_code);
      expect((await poll(t, flow.device_code)).status).toBe(200);
      expect((await poll(t, flow.device_code)).body).toEqual(USED_CODE);
      t.clock.advance(TTL_MS);
      const res = await poll(t, flow.device_code);
      expect(res.status).toBe(400);
      expect(res.body).toEqual(EXPIRED);
      expect((await row()).status).toBe('consumed');
    });

    it('answers expired_token, not slow_down, to an expired code polled too fast', async () => {
      const flow = await startFlow(t);
      t.clock.advance(TTL_MS - 100);
      expect((await poll(t, flow.device_code)).body).toEqual(PENDING);
      t.clock.advance(100);
      expect((await poll(t, flow.device_code)).body).toEqual(EXPIRED);
    });

    it('authenticates the client before looking the code up', async () => {
      const flow = await startTvFlow();
      // An unknown code with a bad secret: the client is refused first.
      const unknown = await pollTv('no-such-code', 'basic', 'wrong-secret-0123456789');
      expect(unknown.status).toBe(401);
      expect(unknown.body).toEqual(CLIENT_AUTH_FAILED);
      expect(unknown.headers['www-authenticate']).toBe(BASIC_CHALLENGE);
      // An expired code with a bad secret: still invalid_client, never expired_token.
      t.clock.advance(TTL_MS);
      const expired = await pollTv(flow.device_code, 'post', 'wrong-secret-0123456789');
      expect(expired.status).toBe(401);
      expect(expired.body).toEqual(CLIENT_AUTH_FAILED);
      // A missing device_code from an unauthenticated client: invalid_client as well.
      const missing = await t.http().post('/oauth/token').auth('tv-app', 'wrong-secret-0123456789').type('form').send({ grant_type: DEVICE_CODE_GRANT_TYPE });
      expect(missing.status).toBe(401);
      expect(missing.body).toEqual(CLIENT_AUTH_FAILED);
    });

    it("binds the lookup to the client before expiry: another client's expired code is invalid_grant", async () => {
      const flow = await startFlow(t);
      t.clock.advance(TTL_MS);
      expect((await pollTv(flow.device_code, 'basic')).body).toEqual(UNKNOWN_CODE);
      expect((await poll(t, flow.device_code)).body).toEqual(EXPIRED);
    });

    it('checks grant_type before anything else', async () => {
      const res = await t.http().post('/oauth/token').auth('tv-app', 'wrong-secret-0123456789').type('form').send({ grant_type: 'password', device_code: 'x' });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        error: 'unsupported_grant_type',
        error_description: `Supported grant types: ${DEVICE_CODE_GRANT_TYPE} and refresh_token.`,
      });
    });
  });

  it('sends no-store on every answer', async () => {
    const flow = await startFlow(t);
    for (const res of [await poll(t, flow.device_code), await poll(t, 'unknown'), await requestDeviceCode(t)]) {
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['pragma']).toBe('no-cache');
    }
  });
});
