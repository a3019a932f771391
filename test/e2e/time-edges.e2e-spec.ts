import fc from 'fast-check';
import { DEVICE_AUTH_CONFIG, DeviceAuthConfig, DeviceCodeStore } from '../../src';
import { csrfFrom, decideViaPages, poll, signIn, startFlow } from '../support/flow';
import { MATRIX, startTestApp, TestApp } from '../support/test-app';

/**
 * A code is valid up to `expires_at` and expired from that instant on, in every state (README,
 * "Choices"). The TestClock puts each request exactly on either side of that instant.
 */

type State = 'pending' | 'authorized' | 'denied' | 'consumed';

const EXPIRED = { status: 400, body: { error: 'expired_token', error_description: 'The device code has expired; start a new device authorization.' } };
/** What a poll gets from a live code in each state. */
const LIVE_ANSWER: Record<State, { status: number; body: unknown }> = {
  pending: { status: 400, body: { error: 'authorization_pending', error_description: 'The user has not yet approved or denied this request.' } },
  authorized: { status: 200, body: { access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, scope: 'read write' } },
  denied: { status: 400, body: { error: 'access_denied', error_description: 'The user denied the request.' } },
  consumed: { status: 400, body: { error: 'invalid_grant', error_description: 'The device code has already been used.' } },
};

describe.each(MATRIX)('time edges on %s with %s', (database, adapter) => {
  let t: TestApp;
  let config: DeviceAuthConfig;
  let cookie: string;

  beforeAll(async () => {
    t = await startTestApp(database, adapter);
    config = t.app.get(DEVICE_AUTH_CONFIG);
  });
  afterAll(() => t.close());
  beforeEach(async () => {
    await t.clearTables();
    cookie = await signIn(t, 'alice');
  });

  /** The code's row; times as numbers (MariaDB hands BIGINT over as strings). */
  async function row(userCode: string): Promise<{ status: string; user_id: string | null; decided_at: number | null; expires_at: number }> {
    const rows = await t.dataSource.query('SELECT status, user_id, decided_at, expires_at FROM device_codes WHERE user_code = ?', [userCode.replace('-', '')]);
    expect(rows).toHaveLength(1);
    const [r] = rows;
    return { status: r.status, user_id: r.user_id, decided_at: r.decided_at === null ? null : Number(r.decided_at), expires_at: Number(r.expires_at) };
  }

  /** Moves the clock to `deltaMs` from the code's expires_at. */
  async function toExpiry(userCode: string, deltaMs: number): Promise<void> {
    const expiresAt = (await row(userCode)).expires_at;
    t.clock.advance(expiresAt + deltaMs - t.clock.now());
  }

  /** A fresh code, brought into `state` without moving the clock. */
  async function codeIn(state: State) {
    const flow = await startFlow(t);
    if (state !== 'pending') expect((await decideViaPages(t, cookie, flow.user_code, state === 'denied' ? 'deny' : 'approve')).status).toBe(200);
    if (state === 'consumed') expect((await poll(t, flow.device_code)).status).toBe(200);
    return flow;
  }

  const answer = async (res: Promise<{ status: number; body: unknown }>) => {
    const { status, body } = await res;
    return { status, body };
  };

  it.each<State>(['pending', 'authorized', 'denied', 'consumed'])('%s: a poll at expires_at - 1 ms answers as that state, at expires_at expired_token', async (state) => {
    // Two codes with one expires_at: one polled just before it, one exactly at it.
    const before = await codeIn(state);
    const at = await codeIn(state);
    expect((await row(at.user_code)).expires_at).toBe((await row(before.user_code)).expires_at);
    const untouched = await row(at.user_code);

    await toExpiry(before.user_code, -1);
    expect(await answer(poll(t, before.device_code))).toEqual(LIVE_ANSWER[state]);
    t.clock.advance(1);
    expect(await answer(poll(t, at.device_code))).toEqual(EXPIRED);
    expect(await row(at.user_code)).toEqual(untouched);
    expect(await answer(poll(t, before.device_code))).toEqual(EXPIRED);
  });

  it('the verification page shows a code at expires_at - 1 ms and refuses it (410) from expires_at', async () => {
    const flow = await startFlow(t);
    const csrf = csrfFrom((await t.http().get('/device').set('Cookie', cookie)).text);
    const open = () => t.http().get(`/device?user_code=${encodeURIComponent(flow.user_code)}`).set('Cookie', cookie);
    const enter = () => t.http().post('/device').set('Cookie', cookie).type('form').send({ user_code: flow.user_code, _csrf: csrf });

    await toExpiry(flow.user_code, -1);
    for (const res of [await open(), await enter()]) {
      expect(res.status).toBe(200);
      expect(res.text).toContain('action="/device/approve"');
    }
    t.clock.advance(1);
    for (const res of [await open(), await enter()]) {
      expect(res.status).toBe(410);
      expect(res.text).toContain('This code has expired');
    }
    expect((await row(flow.user_code)).status).toBe('pending');
  });

  it.each(['approve', 'deny'] as const)('%s decides at expires_at - 1 ms, and at exactly expires_at changes nothing', async (action) => {
    const before = await startFlow(t);
    const at = await startFlow(t);
    const csrf = csrfFrom((await t.http().get('/device').set('Cookie', cookie)).text);
    const decide = (userCode: string) => t.http().post(`/device/${action}`).set('Cookie', cookie).type('form').send({ user_code: userCode, _csrf: csrf });
    const untouched = await row(at.user_code);

    await toExpiry(before.user_code, -1);
    expect((await decide(before.user_code)).status).toBe(200);
    expect(await row(before.user_code)).toMatchObject({ status: action === 'approve' ? 'authorized' : 'denied', user_id: 'alice', decided_at: t.clock.now() });

    t.clock.advance(1);
    const late = await decide(at.user_code);
    expect(late.status).toBe(410);
    expect(late.text).toContain('This code has expired');
    // The JSON API and the store's own conditional UPDATE draw the line at the same instant.
    const session = await t.http().get('/device/api/session').set('Cookie', cookie);
    const api = await t.http().post(`/device/api/${action}`).set('Cookie', cookie).set('X-CSRF-Token', session.body.csrf_token).send({ user_code: at.user_code });
    expect([api.status, api.body.error]).toEqual([410, 'expired_token']);
    const store = t.app.get(DeviceCodeStore);
    expect(await (action === 'approve' ? store.authorizeDeviceCode(at.user_code, 'alice') : store.denyDeviceCode(at.user_code, 'alice'))).toBe(false);
    expect(await row(at.user_code)).toEqual(untouched);
  });

  it('purge never removes an unexpired pending or authorized code, and removes every code expired longer than the retention', async () => {
    const store = t.app.get(DeviceCodeStore);
    const ttlMs = config.deviceCodeTtlSeconds * 1000;
    const retentionMs = config.purgeRetentionSeconds * 1000;
    // expires_at relative to now: close to the expiry, close to the end of the retention, or anywhere.
    const offset = fc.oneof(
      fc.integer({ min: -3, max: 3 }),
      fc.integer({ min: -retentionMs - 3, max: -retentionMs + 3 }),
      fc.integer({ min: -retentionMs - ttlMs, max: ttlMs }),
    );
    const code = fc.record({ offset, status: fc.constantFrom<State>('pending', 'authorized', 'denied', 'consumed'), decidedAfter: fc.nat() });

    await fc.assert(
      fc.asyncProperty(fc.array(code, { minLength: 1, maxLength: 12 }), async (codes) => {
        await t.dataSource.query('DELETE FROM device_codes');
        const now = t.clock.now();
        const rows = codes.map(({ offset: delta, status, decidedAfter }, i) => {
          const expiresAt = now + delta;
          const createdAt = expiresAt - ttlMs;
          // A decision falls between creation and the earlier of expiry and now.
          const decidedAt = status === 'pending' ? null : createdAt + (decidedAfter % (Math.min(expiresAt - 1, now) - createdAt + 1));
          return [i.toString(16).padStart(64, '0'), `PURGE${i}`, 'demo-cli', 'read', status, status === 'pending' ? null : 'alice', 5, expiresAt, createdAt, decidedAt];
        });
        await t.dataSource.query(
          `INSERT INTO device_codes (device_code_hash, user_code, client_id, scope, status, user_id, interval_seconds, expires_at, created_at, decided_at) VALUES ${rows.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
          rows.flat(),
        );

        const purged = await store.purgeExpired();
        const kept = new Set(((await t.dataSource.query('SELECT user_code FROM device_codes')) as { user_code: string }[]).map((r) => r.user_code));
        expect(purged).toBe(codes.length - kept.size);
        codes.forEach(({ offset: delta, status }, i) => {
          const live = delta > 0;
          if (live && (status === 'pending' || status === 'authorized')) expect(kept.has(`PURGE${i}`)).toBe(true);
          if (-delta > retentionMs) expect(kept.has(`PURGE${i}`)).toBe(false);
        });
      }),
      { numRuns: 40 },
    );
  });
});
