import { DeviceAuthEvents } from '../../src';
import { CapturingLogger, EVENT_NAMES, EventRecorder, RecordedEvent } from '../support/events';
import { csrfFrom, decideViaPages, poll, requestDeviceCode, signIn, startFlow } from '../support/flow';
import { MATRIX, startTestApp, TestApp } from '../support/test-app';

const REFRESH_CLIENT = { client_id: 'refresh-cli' };
/** The requests come over loopback IPv4: the app listens on 127.0.0.1. */
const IP = '127.0.0.1';

/** Well-formed base-20 codes that no flow handed out. */
function wrongCode(i: number): string {
  const charset = 'BCDFGHJKLMNPQRSTVWXZ';
  return `ZZZZ-ZZ${charset[Math.floor(i / charset.length) % charset.length]}${charset[i % charset.length]}`;
}

/** Nothing a payload carries may be one of these: codes (either form), tokens, secrets. */
function expectNoSecrets(events: RecordedEvent[], secrets: string[]): void {
  const text = JSON.stringify(events);
  for (const secret of secrets) {
    expect(secret.length).toBeGreaterThanOrEqual(8);
    expect(text).not.toContain(secret);
  }
}

function userCodeForms(userCode: string): string[] {
  return [userCode, userCode.replace('-', ''), userCode.toLowerCase(), userCode.replace('-', '').toLowerCase()];
}

describe.each(MATRIX)('events on %s with %s', (database, adapter) => {
  describe('the flow', () => {
    let t: TestApp;
    let events: DeviceAuthEvents;
    let recorder: EventRecorder;

    beforeAll(async () => {
      t = await startTestApp(database, adapter);
      await t.app.listen(0, '127.0.0.1');
      events = t.app.get(DeviceAuthEvents);
      recorder = new EventRecorder(events);
    });
    afterAll(async () => {
      recorder.stop();
      await t.close();
    });
    beforeEach(async () => {
      await t.clearTables();
      recorder.clear();
    });

    async function rowStatus(userCode: string): Promise<string> {
      const rows: { status: string }[] = await t.dataSource.query('SELECT status FROM device_codes WHERE user_code = ?', [userCode.replace('-', '')]);
      expect(rows).toHaveLength(1);
      return rows[0].status;
    }

    function refresh(refreshToken: string) {
      return t.http().post('/oauth/token').type('form').send({ grant_type: 'refresh_token', refresh_token: refreshToken, ...REFRESH_CLIENT });
    }

    it('emits each event once, in order, with ids only', async () => {
      // Device authorization: created.
      const flow = await startFlow(t, { ...REFRESH_CLIENT, scope: 'read write' });
      expect(recorder.events).toEqual([['device_code.created', { clientId: 'refresh-cli', scope: 'read write', ip: IP }]]);

      // A wrong code on the page: verification.failed; the right one: no event (a lookup only).
      const cookie = await signIn(t, 'alice');
      const entry = await t.http().get('/device').set('Cookie', cookie);
      const csrf = csrfFrom(entry.text);
      const wrong = await t.http().post('/device').set('Cookie', cookie).type('form').send({ user_code: wrongCode(0), _csrf: csrf });
      expect(wrong.status).toBe(404);
      const confirm = await t.http().post('/device').set('Cookie', cookie).type('form').send({ user_code: flow.user_code, _csrf: csrf });
      expect(confirm.status).toBe(200);
      expect(recorder.events.slice(1)).toEqual([['verification.failed', { userId: 'alice', ip: IP }]]);

      // Approve, then the device redeems the code.
      const approved = await t.http().post('/device/approve').set('Cookie', cookie).type('form').send({ user_code: flow.user_code, _csrf: csrf });
      expect(approved.status).toBe(200);
      const pending = await poll(t, flow.device_code, REFRESH_CLIENT);
      expect(pending.status).toBe(200);
      const tokens = pending.body as { access_token: string; refresh_token: string };

      // Another flow, denied; the device hears access_denied (no event for that poll).
      const denied = await startFlow(t, { client_id: 'demo-cli' });
      expect((await decideViaPages(t, cookie, denied.user_code, 'deny')).status).toBe(200);
      expect((await poll(t, denied.device_code)).body.error).toBe('access_denied');

      // A third flow expires before anyone decides; its device polls once more.
      const expired = await startFlow(t, { client_id: 'demo-cli', scope: 'read' });
      t.clock.advance(901 * 1000);
      const late = await poll(t, expired.device_code);
      expect(late.status).toBe(400);
      expect(late.body.error).toBe('expired_token');

      // Refresh (rotated), the old token again (reused: the family is revoked).
      const rotated = await refresh(tokens.refresh_token);
      expect(rotated.status).toBe(200);
      const reused = await refresh(tokens.refresh_token);
      expect(reused.status).toBe(400);
      expect(reused.body).toEqual({ error: 'invalid_grant', error_description: 'The refresh token is not valid.' });

      // A fresh approval to revoke: revoked.
      const second = await startFlow(t, { ...REFRESH_CLIENT, scope: 'read' });
      expect((await decideViaPages(t, cookie, second.user_code, 'approve')).status).toBe(200);
      const secondTokens = await poll(t, second.device_code, REFRESH_CLIENT);
      expect(secondTokens.status).toBe(200);
      const revoked = await t.http().post('/oauth/revoke').type('form').send({ token: secondTokens.body.refresh_token, ...REFRESH_CLIENT });
      expect(revoked.status).toBe(200);

      expect(recorder.events).toEqual([
        ['device_code.created', { clientId: 'refresh-cli', scope: 'read write', ip: IP }],
        ['verification.failed', { userId: 'alice', ip: IP }],
        ['device_code.approved', { clientId: 'refresh-cli', userId: 'alice' }],
        ['device_code.redeemed', { clientId: 'refresh-cli', userId: 'alice', scope: 'read write' }],
        ['device_code.created', { clientId: 'demo-cli', scope: 'read write', ip: IP }],
        ['device_code.denied', { clientId: 'demo-cli', userId: 'alice' }],
        ['device_code.created', { clientId: 'demo-cli', scope: 'read', ip: IP }],
        ['device_code.expired_poll', { clientId: 'demo-cli' }],
        ['refresh_token.rotated', { clientId: 'refresh-cli', userId: 'alice' }],
        ['refresh_token.reused', { clientId: 'refresh-cli', userId: 'alice' }],
        ['device_code.created', { clientId: 'refresh-cli', scope: 'read', ip: IP }],
        ['device_code.approved', { clientId: 'refresh-cli', userId: 'alice' }],
        ['device_code.redeemed', { clientId: 'refresh-cli', userId: 'alice', scope: 'read' }],
        ['refresh_token.revoked', { clientId: 'refresh-cli', userId: 'alice' }],
      ]);
      // Every payload is exactly the documented members, nothing more.
      for (const [, payload] of recorder.events) expect(Object.values(payload).every((v) => typeof v === 'string')).toBe(true);

      expectNoSecrets(recorder.events, [
        flow.device_code,
        denied.device_code,
        expired.device_code,
        second.device_code,
        ...userCodeForms(flow.user_code),
        ...userCodeForms(denied.user_code),
        ...userCodeForms(expired.user_code),
        ...userCodeForms(second.user_code),
        tokens.access_token,
        tokens.refresh_token,
        rotated.body.access_token,
        rotated.body.refresh_token,
        secondTokens.body.access_token,
        secondTokens.body.refresh_token,
        csrf,
        cookie,
        'alice-password',
      ]);
    });

    it('polls that get no final answer, lookups and a repeated decision emit nothing', async () => {
      const flow = await startFlow(t);
      recorder.clear();
      expect((await poll(t, flow.device_code)).body.error).toBe('authorization_pending');
      expect((await poll(t, flow.device_code)).body.error).toBe('slow_down');
      expect((await poll(t, 'not-a-device-code')).body.error).toBe('invalid_grant');
      const cookie = await signIn(t, 'alice');
      expect((await decideViaPages(t, cookie, flow.user_code, 'approve')).status).toBe(200);
      recorder.clear();
      const csrf = csrfFrom((await t.http().get('/device').set('Cookie', cookie)).text);
      const again = await t.http().post('/device/deny').set('Cookie', cookie).type('form').send({ user_code: flow.user_code, _csrf: csrf });
      expect(again.status).toBe(409);
      const lookup = await t.http().post('/device').set('Cookie', cookie).type('form').send({ user_code: flow.user_code, _csrf: csrf });
      expect(lookup.status).toBe(409);
      expect(recorder.events).toEqual([]);
      // The code redeemed twice: one redeemed event only.
      expect((await poll(t, flow.device_code)).status).toBe(200);
      expect((await poll(t, flow.device_code)).body.error).toBe('invalid_grant');
      expect(recorder.events).toEqual([['device_code.redeemed', { clientId: 'demo-cli', userId: 'alice', scope: 'read write' }]]);
    });

    it('emits after the write commits: listeners see the new row state', async () => {
      const seen: Record<string, string> = {};
      const pending: Promise<void>[] = [];
      let userCode = '';
      const offApproved = events.on('device_code.approved', () => {
        pending.push(rowStatus(userCode).then((s) => void (seen.approved = s)));
      });
      const offRedeemed = events.on('device_code.redeemed', () => {
        pending.push(rowStatus(userCode).then((s) => void (seen.redeemed = s)));
      });
      const offDenied = events.on('device_code.denied', () => {
        pending.push(rowStatus(userCode).then((s) => void (seen.denied = s)));
      });
      try {
        const flow = await startFlow(t);
        userCode = flow.user_code;
        const cookie = await signIn(t, 'alice');
        expect((await decideViaPages(t, cookie, flow.user_code, 'approve')).status).toBe(200);
        expect((await poll(t, flow.device_code)).status).toBe(200);
        await Promise.all(pending);
        expect(seen).toEqual({ approved: 'authorized', redeemed: 'consumed' });

        const other = await startFlow(t);
        userCode = other.user_code;
        expect((await decideViaPages(t, cookie, other.user_code, 'deny')).status).toBe(200);
        await Promise.all(pending);
        expect(seen).toEqual({ approved: 'authorized', redeemed: 'consumed', denied: 'denied' });
      } finally {
        offApproved();
        offRedeemed();
        offDenied();
      }
    });

    it('a refresh token row is already rotated, revoked when the events fire', async () => {
      const seen: Record<string, string[]> = {};
      const pending: Promise<void>[] = [];
      const statuses = async (): Promise<string[]> =>
        ((await t.dataSource.query('SELECT status FROM refresh_tokens ORDER BY id')) as { status: string }[]).map((r) => r.status);
      const offs = (['refresh_token.rotated', 'refresh_token.reused', 'refresh_token.revoked'] as const).map((name) =>
        events.on(name, () => void pending.push(statuses().then((s) => void (seen[name] = s)))),
      );
      try {
        const flow = await startFlow(t, REFRESH_CLIENT);
        expect((await decideViaPages(t, await signIn(t, 'alice'), flow.user_code, 'approve')).status).toBe(200);
        const first = (await poll(t, flow.device_code, REFRESH_CLIENT)).body.refresh_token as string;
        const second = await refresh(first);
        expect(second.status).toBe(200);
        await Promise.all(pending);
        expect(seen).toEqual({ 'refresh_token.rotated': ['used', 'active'] });
        expect((await refresh(first)).status).toBe(400);
        await Promise.all(pending);
        expect(seen['refresh_token.reused']).toEqual(['revoked', 'revoked']);

        const other = await startFlow(t, REFRESH_CLIENT);
        expect((await decideViaPages(t, await signIn(t, 'alice'), other.user_code, 'approve')).status).toBe(200);
        const third = (await poll(t, other.device_code, REFRESH_CLIENT)).body.refresh_token as string;
        expect((await t.http().post('/oauth/revoke').type('form').send({ token: third, ...REFRESH_CLIENT })).status).toBe(200);
        await Promise.all(pending);
        expect(seen['refresh_token.revoked']).toEqual(['revoked', 'revoked', 'revoked']);
      } finally {
        offs.forEach((off) => off());
      }
    });

    it('an unsubscribed listener hears nothing more', async () => {
      const heard: string[] = [];
      const off = events.on('device_code.created', (e) => void heard.push(e.clientId));
      await startFlow(t);
      off();
      await startFlow(t);
      expect(heard).toEqual(['demo-cli']);
    });
  });

  describe('listeners that fail', () => {
    let t: TestApp;
    let logger: CapturingLogger;

    beforeAll(async () => {
      logger = new CapturingLogger();
      t = await startTestApp(database, adapter, {}, logger);
    });
    afterAll(() => t.close());
    beforeEach(() => t.clearTables());

    it('a listener that throws, and one that rejects, do not change any response', async () => {
      const events = t.app.get(DeviceAuthEvents);
      const recorder = new EventRecorder(events);
      const offs = EVENT_NAMES.flatMap((name) => [
        events.on(name, () => {
          throw new Error(`boom in ${name}`);
        }),
        events.on(name, () => Promise.reject(new Error(`rejected in ${name}`))),
        events.on(name, async () => {
          throw new Error(`async boom in ${name}`);
        }),
      ]);
      // A listener added after the failing ones still hears every event.
      const after = new EventRecorder(events);
      try {
        const created = await t.http().post('/oauth/device_authorization').type('form').send({ client_id: 'refresh-cli', scope: 'read' });
        expect(created.status).toBe(200);
        expect(Object.keys(created.body).sort()).toEqual(['device_code', 'expires_in', 'interval', 'user_code', 'verification_uri', 'verification_uri_complete']);
        const flow = created.body as { device_code: string; user_code: string };
        const cookie = await signIn(t, 'alice');
        const csrf = csrfFrom((await t.http().get('/device').set('Cookie', cookie)).text);

        const wrong = await t.http().post('/device').set('Cookie', cookie).type('form').send({ user_code: wrongCode(1), _csrf: csrf });
        expect(wrong.status).toBe(404);
        expect(wrong.text).toContain('That code is not right');

        const approved = await t.http().post('/device/approve').set('Cookie', cookie).type('form').send({ user_code: flow.user_code, _csrf: csrf });
        expect(approved.status).toBe(200);
        expect(approved.text).toContain('<h1>Device connected</h1>');
        expect(await t.dataSource.query('SELECT status, user_id FROM device_codes')).toEqual([{ status: 'authorized', user_id: 'alice' }]);

        const tokens = await poll(t, flow.device_code, REFRESH_CLIENT);
        expect(tokens.status).toBe(200);
        expect(tokens.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, scope: 'read', refresh_token: expect.any(String) });

        const rotated = await t.http().post('/oauth/token').type('form').send({ grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token, ...REFRESH_CLIENT });
        expect(rotated.status).toBe(200);
        const revoked = await t.http().post('/oauth/revoke').type('form').send({ token: rotated.body.refresh_token, ...REFRESH_CLIENT });
        expect(revoked.status).toBe(200);
        expect(revoked.body).toEqual({});

        const denied = await startFlow(t);
        const deny = await decideViaPages(t, cookie, denied.user_code, 'deny');
        expect(deny.status).toBe(200);
        expect(deny.text).toContain('<h1>Request denied</h1>');
        expect((await poll(t, denied.device_code)).body).toEqual({ error: 'access_denied', error_description: 'The user denied the request.' });

        // Let the rejected promises settle, then check every failure was logged, not thrown.
        await new Promise((resolve) => setImmediate(resolve));
        const names = ['device_code.created', 'verification.failed', 'device_code.approved', 'device_code.redeemed', 'refresh_token.rotated', 'refresh_token.revoked', 'device_code.created', 'device_code.denied'];
        expect(recorder.events.map(([name]) => name)).toEqual(names);
        expect(after.events).toEqual(recorder.events);
        const warnings = logger.lines.filter((l) => l.level === 'warn' && l.message.startsWith('a listener of '));
        expect(warnings.map((l) => l.message).sort()).toEqual(
          names.flatMap((name) => [
            `a listener of ${name} failed: Error: boom in ${name}`,
            `a listener of ${name} failed: Error: rejected in ${name}`,
            `a listener of ${name} failed: Error: async boom in ${name}`,
          ]).sort(),
        );
        expect(warnings.every((l) => l.context === 'DeviceAuth')).toBe(true);
        expect(logger.lines.filter((l) => l.level === 'error')).toEqual([]);
      } finally {
        offs.forEach((off) => off());
        recorder.stop();
        after.stop();
      }
    });
  });

  describe('rate limits', () => {
    let t: TestApp;
    let recorder: EventRecorder;

    beforeAll(async () => {
      t = await startTestApp(database, adapter, { DEVICE_AUTHORIZATION_RATE_LIMIT: '1', VERIFICATION_FAILURE_LIMIT: '1' });
      await t.app.listen(0, '127.0.0.1');
      recorder = new EventRecorder(t.app.get(DeviceAuthEvents));
    });
    afterAll(async () => {
      recorder.stop();
      await t.close();
    });
    beforeEach(async () => {
      await t.clearTables();
      recorder.clear();
    });

    it('the device authorization limit: rate_limited with the client and IP, no created', async () => {
      const first = await requestDeviceCode(t, { client_id: 'tv-app', client_secret: 'confidential-secret-0123456789' });
      expect(first.status).toBe(200);
      const second = await requestDeviceCode(t, { client_id: 'tv-app', client_secret: 'confidential-secret-0123456789' });
      expect(second.status).toBe(429);
      expect(second.body).toEqual({ error: 'temporarily_unavailable', error_description: 'Too many device authorization requests; try again later.' });
      const [{ n }] = await t.dataSource.query('SELECT COUNT(*) AS n FROM device_codes');
      expect(Number(n)).toBe(1);
      expect(recorder.events).toEqual([
        ['device_code.created', { clientId: 'tv-app', scope: 'read', ip: IP }],
        ['rate_limited', { limit: 'device_authorization', clientId: 'tv-app', ip: IP }],
      ]);
      expectNoSecrets(recorder.events, ['confidential-secret-0123456789', first.body.device_code, ...userCodeForms(first.body.user_code)]);
    });

    it('the verification lockout: verification.failed, then rate_limited with the user and IP', async () => {
      const flow = await startFlow(t);
      recorder.clear();
      const cookie = await signIn(t, 'bob');
      const csrf = csrfFrom((await t.http().get('/device').set('Cookie', cookie)).text);
      const submit = (userCode: string) => t.http().post('/device').set('Cookie', cookie).type('form').send({ user_code: userCode, _csrf: csrf });
      expect((await submit(wrongCode(0))).status).toBe(404);
      expect((await submit(wrongCode(1))).status).toBe(429);
      const locked = await submit(flow.user_code);
      expect(locked.status).toBe(429);
      expect(recorder.events).toEqual([
        ['verification.failed', { userId: 'bob', ip: IP }],
        ['rate_limited', { limit: 'verification', userId: 'bob', ip: IP }],
        ['rate_limited', { limit: 'verification', userId: 'bob', ip: IP }],
      ]);
      expectNoSecrets(recorder.events, [flow.device_code, ...userCodeForms(flow.user_code), wrongCode(0), wrongCode(1), csrf, cookie]);
    });
  });
});
