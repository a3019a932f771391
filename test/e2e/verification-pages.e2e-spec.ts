import { IncomingHttpHeaders, request as httpRequest } from 'node:http';
import { AddressInfo } from 'node:net';
import { DeviceAuthModule } from '../../src';
import { DEMO_USERS } from '../../src/demo/login.controller';
import { csrfFrom, DEVICE_CODE_GRANT_TYPE, poll, signIn, startFlow } from '../support/flow';
import { HostApp, hostOptions, hostTypeOrm, startHostApp } from '../support/host-app';
import { MATRIX, startTestApp, TestApp } from '../support/test-app';

/** The default guessing limit (SPEC: failed entries per 15 minutes per user and per IP). */
const DEFAULT_FAILURE_LIMIT = 5;
const FIFTEEN_MINUTES_MS = 15 * 60 * 1000;
const DEVICE_UA = 'AcmeCLI/2.4.1 (linux; x64) e2e-device';

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** The headers every verification page carries (clickjacking, caching, referrer leaks). */
function expectPageHeaders(res: { headers: Record<string, unknown> }): void {
  expect(res.headers['content-type']).toMatch(/^text\/html; charset=utf-8$/i);
  expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
  expect(res.headers['x-frame-options']).toBe('DENY');
  expect(res.headers['referrer-policy']).toBe('no-referrer');
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers['x-content-type-options']).toBe('nosniff');
}

/** "BDWP-HQPK" typed the sloppy way: "bdwp hqpk". */
function looseForm(userCode: string): string {
  return userCode.toLowerCase().replace('-', ' ');
}

/** Well-formed base-20 codes that no flow handed out (the chance of a collision is ~1e-9). */
function wrongCode(i: number): string {
  const charset = 'BCDFGHJKLMNPQRSTVWXZ';
  return `ZZZZ-ZZ${charset[Math.floor(i / charset.length) % charset.length]}${charset[i % charset.length]}`;
}

describe.each(MATRIX)('verification pages on %s with %s', (database, adapter) => {
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    t = await startTestApp(database, adapter);
    // Listening on a real port lets one test speak from a second loopback address (per-IP limit);
    // supertest (t.http()) reuses the listening server.
    await t.app.listen(0, '127.0.0.1');
    port = (t.app.getHttpServer().address() as AddressInfo).port;
  });
  afterAll(() => t.close());
  beforeEach(() => t.clearTables());

  /** The row of a flow, by its normalised user code. */
  async function row(userCode: string): Promise<Record<string, unknown>> {
    const rows = await t.dataSource.query('SELECT * FROM device_codes WHERE user_code = ?', [userCode.replace('-', '')]);
    expect(rows).toHaveLength(1);
    return rows[0];
  }

  async function status(userCode: string): Promise<unknown> {
    return (await row(userCode)).status;
  }

  async function entryCsrf(cookie: string): Promise<string> {
    const entry = await t.http().get('/device').set('Cookie', cookie);
    expect(entry.status).toBe(200);
    return csrfFrom(entry.text);
  }

  function submitCode(cookie: string, csrf: string, userCode: string) {
    return t.http().post('/device').set('Cookie', cookie).type('form').send({ user_code: userCode, _csrf: csrf });
  }

  function decide(action: 'approve' | 'deny', cookie: string, csrf: string, userCode: string) {
    return t.http().post(`/device/${action}`).set('Cookie', cookie).type('form').send({ user_code: userCode, _csrf: csrf });
  }

  /** A request from a chosen loopback source address, so the server sees another client IP. */
  function fromAddress(localAddress: string, method: 'GET' | 'POST', path: string, cookie: string, form?: Record<string, string>): Promise<RawResponse> {
    const body = form ? new URLSearchParams(form).toString() : undefined;
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          localAddress,
          method,
          path,
          headers: {
            Cookie: cookie,
            ...(body !== undefined ? { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(body) } : {}),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  describe('signing in first', () => {
    it('sends someone who is not signed in to /login with next=/device', async () => {
      const res = await t.http().get('/device');
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/login?next=%2Fdevice');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['set-cookie']).toBeUndefined();
    });

    it('keeps the user code in next when verification_uri_complete is opened signed out', async () => {
      const res = await t.http().get('/device?user_code=BDWP-HQPK');
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe(`/login?next=${encodeURIComponent('/device?user_code=BDWP-HQPK')}`);
      expect(res.headers.location).toBe('/login?next=%2Fdevice%3Fuser_code%3DBDWP-HQPK');
    });

    it('an anonymous visit to verification_uri_complete changes nothing', async () => {
      const flow = await startFlow(t);
      const res = await t.http().get(`/device?user_code=${encodeURIComponent(flow.user_code)}`);
      expect(res.status).toBe(303);
      expect(await status(flow.user_code)).toBe('pending');
    });
  });

  describe('entry and confirmation', () => {
    it('shows the entry form with a hidden _csrf and the security headers', async () => {
      const cookie = await signIn(t, 'alice');
      const res = await t.http().get('/device').set('Cookie', cookie);
      expect(res.status).toBe(200);
      expectPageHeaders(res);
      expect(res.text).toContain('<form method="post" action="/device"');
      expect(res.text).toMatch(/<input type="hidden" name="_csrf" value="[A-Za-z0-9_-]{20,}">/);
      expect(res.text).toContain('name="user_code"');
      expect(res.text).toContain('Enter the code shown on your device');
      expect(res.text).toContain('Signed in as <strong>alice</strong>');
      // No script at all on the page.
      expect(res.text).not.toMatch(/<script/i);
    });

    it('verification_uri_complete shows the confirmation page and does not approve by itself', async () => {
      const created = await t
        .http()
        .post('/oauth/device_authorization')
        .set('User-Agent', DEVICE_UA)
        .type('form')
        .send({ client_id: 'demo-cli', scope: 'read write' });
      expect(created.status).toBe(200);
      const flow = created.body as { user_code: string; verification_uri_complete: string };
      expect(flow.verification_uri_complete).toBe(`http://device.test/device?user_code=${encodeURIComponent(flow.user_code)}`);
      const path = new URL(flow.verification_uri_complete).pathname + new URL(flow.verification_uri_complete).search;

      const cookie = await signIn(t, 'alice');
      const res = await t.http().get(path).set('Cookie', cookie);
      expect(res.status).toBe(200);
      expectPageHeaders(res);
      expect(res.text).toContain('<span class="client">Demo CLI</span> wants to access your account');
      expect(res.text).toContain(`<p class="code"`);
      expect(res.text).toContain(`>${flow.user_code}</p>`);
      expect(res.text).toContain('<strong>read</strong> — Read your data');
      expect(res.text).toContain('<strong>write</strong> — Change your data');
      const stored = await row(flow.user_code);
      expect(stored.requester_ip).toBe('127.0.0.1');
      expect(res.text).toContain('<dt>IP address</dt><dd>127.0.0.1</dd>');
      expect(res.text).toContain(`<dt>Device</dt><dd>${DEVICE_UA}</dd>`);
      expect(res.text).toContain('0 seconds ago');
      // Both decisions are offered as forms carrying the code and a CSRF token.
      expect(res.text).toContain('action="/device/approve"');
      expect(res.text).toContain('action="/device/deny"');
      expect(res.text).toContain(`<input type="hidden" name="user_code" value="${flow.user_code}">`);
      expect(csrfFrom(res.text)).toBe(await entryCsrf(cookie));

      expect(stored.status).toBe('pending');
      expect(stored.user_id).toBeNull();
      expect(stored.decided_at).toBeNull();
      // Opening it again still does nothing; the device keeps waiting.
      await t.http().get(path).set('Cookie', cookie).expect(200);
      expect(await status(flow.user_code)).toBe('pending');
      const polled = await poll(t, (created.body as { device_code: string }).device_code);
      expect(polled.body.error).toBe('authorization_pending');
    });

    it('accepts the code typed loosely (lower case, a space for the dash) and approves with it', async () => {
      const flow = await startFlow(t, { client_id: 'demo-cli', scope: 'read' });
      const typed = looseForm(flow.user_code);
      expect(typed).toMatch(/^[a-z]{4} [a-z]{4}$/);
      const cookie = await signIn(t, 'alice');
      const csrf = await entryCsrf(cookie);

      const confirm = await submitCode(cookie, csrf, typed);
      expect(confirm.status).toBe(200);
      expectPageHeaders(confirm);
      expect(confirm.text).toContain(`>${flow.user_code}</p>`);
      expect(confirm.text).toContain('Demo CLI');
      expect(await status(flow.user_code)).toBe('pending');

      const approved = await decide('approve', cookie, csrfFrom(confirm.text), typed);
      expect(approved.status).toBe(200);
      expect(approved.text).toContain('Device connected');
      const stored = await row(flow.user_code);
      expect(stored.status).toBe('authorized');
      expect(stored.user_id).toBe('alice');
    });

    it('also accepts the loose form through ?user_code= and without any separator', async () => {
      const flow = await startFlow(t);
      const cookie = await signIn(t, 'alice');
      const viaQuery = await t.http().get(`/device?user_code=${encodeURIComponent(looseForm(flow.user_code))}`).set('Cookie', cookie);
      expect(viaQuery.status).toBe(200);
      expect(viaQuery.text).toContain(`>${flow.user_code}</p>`);
      const compact = await submitCode(cookie, await entryCsrf(cookie), flow.user_code.replace('-', '').toLowerCase());
      expect(compact.status).toBe(200);
      expect(compact.text).toContain(`>${flow.user_code}</p>`);
    });
  });

  describe('the decision', () => {
    it('approve: a result page saying the device is connected; the row is authorized for alice', async () => {
      const flow = await startFlow(t, { client_id: 'demo-cli', scope: 'read' });
      const cookie = await signIn(t, 'alice');
      const confirm = await submitCode(cookie, await entryCsrf(cookie), flow.user_code);
      expect(confirm.status).toBe(200);
      const res = await decide('approve', cookie, csrfFrom(confirm.text), flow.user_code);
      expect(res.status).toBe(200);
      expectPageHeaders(res);
      expect(res.text).toContain('<h1>Device connected</h1>');
      expect(res.text).toContain('You allowed <strong>Demo CLI</strong>. You can return to your device');
      const stored = await row(flow.user_code);
      expect(stored.status).toBe('authorized');
      expect(stored.user_id).toBe('alice');
      expect(Number(stored.decided_at)).toBe(t.clock.now());
    });

    it('deny: a result page saying the request was denied; the row is denied and the device hears access_denied', async () => {
      const flow = await startFlow(t);
      const cookie = await signIn(t, 'alice');
      const confirm = await submitCode(cookie, await entryCsrf(cookie), flow.user_code);
      const res = await decide('deny', cookie, csrfFrom(confirm.text), flow.user_code);
      expect(res.status).toBe(200);
      expectPageHeaders(res);
      expect(res.text).toContain('<h1>Request denied</h1>');
      expect(res.text).toContain('<strong>Demo CLI</strong> was not given access. You can return to your device');
      const stored = await row(flow.user_code);
      expect(stored.status).toBe('denied');
      expect(stored.user_id).toBe('alice');
      expect(Number(stored.decided_at)).toBe(t.clock.now());
      const polled = await poll(t, flow.device_code);
      expect(polled.status).toBe(400);
      expect(polled.body.error).toBe('access_denied');
    });

    it('a decision is final: approve after deny is 409 and the row stays denied', async () => {
      const flow = await startFlow(t);
      const cookie = await signIn(t, 'alice');
      const csrf = await entryCsrf(cookie);
      expect((await decide('deny', cookie, csrf, flow.user_code)).status).toBe(200);
      const before = await row(flow.user_code);

      const res = await decide('approve', cookie, csrf, flow.user_code);
      expect(res.status).toBe(409);
      expectPageHeaders(res);
      expect(res.text).toContain('This code was already used');
      expect(res.text).toContain('already denied');
      expect(await row(flow.user_code)).toEqual(before);
      // Looking the code up again says the same, as the entry form with the reason.
      const again = await submitCode(cookie, csrf, flow.user_code);
      expect(again.status).toBe(409);
      expect(again.text).toContain('already denied');
      expect(await row(flow.user_code)).toEqual(before);
    });

    it('approving twice: the second is 409 and the row keeps the first decision', async () => {
      const flow = await startFlow(t);
      const alice = await signIn(t, 'alice');
      const csrf = await entryCsrf(alice);
      expect((await decide('approve', alice, csrf, flow.user_code)).status).toBe(200);
      const before = await row(flow.user_code);

      const second = await decide('approve', alice, csrf, flow.user_code);
      expect(second.status).toBe(409);
      expect(second.text).toContain('already approved');
      // Another user cannot take the decision over either.
      const bob = await signIn(t, 'bob');
      const bobs = await decide('approve', bob, await entryCsrf(bob), flow.user_code);
      expect(bobs.status).toBe(409);
      const denyAfter = await decide('deny', alice, csrf, flow.user_code);
      expect(denyAfter.status).toBe(409);
      expect(await row(flow.user_code)).toEqual(before);
      expect(before.user_id).toBe('alice');
    });

    it('an unknown code is a 404 page on lookup and on approve', async () => {
      const flow = await startFlow(t);
      const cookie = await signIn(t, 'alice');
      const csrf = await entryCsrf(cookie);
      const looked = await submitCode(cookie, csrf, wrongCode(0));
      expect(looked.status).toBe(404);
      expectPageHeaders(looked);
      expect(looked.text).toContain('That code is not right');
      // The entry form comes back so the person can try again.
      expect(looked.text).toContain('action="/device"');
      const approved = await decide('approve', cookie, csrf, wrongCode(1));
      expect(approved.status).toBe(404);
      expectPageHeaders(approved);
      expect(approved.text).toContain('That code is not right');
      expect(await status(flow.user_code)).toBe('pending');
    });

    it('an expired code is a 410 page on lookup and on approve, never 500, and the row is unchanged', async () => {
      const flow = await startFlow(t);
      const cookie = await signIn(t, 'alice');
      const csrf = await entryCsrf(cookie);
      const before = await row(flow.user_code);
      t.clock.advance(901 * 1000);

      const looked = await submitCode(cookie, csrf, flow.user_code);
      expect(looked.status).toBe(410);
      expectPageHeaders(looked);
      expect(looked.text).toContain('This code has expired');
      const viaQuery = await t.http().get(`/device?user_code=${encodeURIComponent(flow.user_code)}`).set('Cookie', cookie);
      expect(viaQuery.status).toBe(410);
      expect(viaQuery.text).toContain('expired');

      const approved = await decide('approve', cookie, csrf, flow.user_code);
      expect(approved.status).toBe(410);
      expectPageHeaders(approved);
      expect(approved.text).toContain('This code has expired');
      expect(approved.text).toContain('Start the sign-in again on your device');
      const denied = await decide('deny', cookie, csrf, flow.user_code);
      expect(denied.status).toBe(410);
      expect(await row(flow.user_code)).toEqual(before);
      expect(before.status).toBe('pending');
      const polled = await poll(t, flow.device_code);
      expect(polled.body.error).toBe('expired_token');
    });

    it('a code expires at exactly expires_in seconds', async () => {
      const flow = await startFlow(t);
      const cookie = await signIn(t, 'alice');
      const csrf = await entryCsrf(cookie);
      t.clock.advance(flow.expires_in * 1000 - 1);
      expect((await submitCode(cookie, csrf, flow.user_code)).status).toBe(200);
      t.clock.advance(1);
      expect((await decide('approve', cookie, csrf, flow.user_code)).status).toBe(410);
      expect(await status(flow.user_code)).toBe('pending');
    });
  });

  describe('CSRF and sign-in on the decision', () => {
    it('a forged _csrf is 403 and the device is still pending', async () => {
      const flow = await startFlow(t);
      const cookie = await signIn(t, 'alice');
      const res = await decide('approve', cookie, 'forged-token-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', flow.user_code);
      expect(res.status).toBe(403);
      expectPageHeaders(res);
      expect(res.text).toContain('This form has expired');
      expect(await status(flow.user_code)).toBe('pending');
      const polled = await poll(t, flow.device_code);
      expect(polled.status).toBe(400);
      expect(polled.body.error).toBe('authorization_pending');
    });

    it('a missing _csrf is 403, on approve, deny and the code lookup', async () => {
      const flow = await startFlow(t);
      const cookie = await signIn(t, 'alice');
      for (const path of ['/device/approve', '/device/deny', '/device']) {
        const res = await t.http().post(path).set('Cookie', cookie).type('form').send({ user_code: flow.user_code });
        expect(res.status).toBe(403);
        expectPageHeaders(res);
      }
      expect(await status(flow.user_code)).toBe('pending');
      expect((await poll(t, flow.device_code)).body.error).toBe('authorization_pending');
    });

    it("a _csrf from bob's session used with alice's cookie is 403", async () => {
      const flow = await startFlow(t);
      const alice = await signIn(t, 'alice');
      const bob = await signIn(t, 'bob');
      const bobsToken = await entryCsrf(bob);
      expect(bobsToken).not.toBe(await entryCsrf(alice));
      const res = await decide('approve', alice, bobsToken, flow.user_code);
      expect(res.status).toBe(403);
      // Even another session of alice herself has its own token.
      const aliceAgain = await signIn(t, 'alice');
      expect((await decide('approve', alice, await entryCsrf(aliceAgain), flow.user_code)).status).toBe(403);
      expect(await status(flow.user_code)).toBe('pending');
      expect((await poll(t, flow.device_code)).body.error).toBe('authorization_pending');
    });

    it('an anonymous deny POST is refused (401) and the device is still pending', async () => {
      const flow = await startFlow(t);
      const alice = await signIn(t, 'alice');
      const csrf = await entryCsrf(alice);
      for (const action of ['deny', 'approve'] as const) {
        const res = await t.http().post(`/device/${action}`).type('form').send({ user_code: flow.user_code, _csrf: csrf });
        expect(res.status).toBeGreaterThanOrEqual(300);
        expect(res.status).toBe(401);
        expectPageHeaders(res);
      }
      const anonymousLookup = await t.http().post('/device').type('form').send({ user_code: flow.user_code, _csrf: csrf });
      expect(anonymousLookup.status).toBe(401);
      expect(await status(flow.user_code)).toBe('pending');
      const polled = await poll(t, flow.device_code);
      expect(polled.body.error).toBe('authorization_pending');
    });

    it('a session of a user removed from DEMO_USERS counts as signed out: no page, no decision', async () => {
      const flow = await startFlow(t);
      const cookie = await signIn(t, 'alice');
      const csrf = await entryCsrf(cookie);
      const users = t.app.get<Map<string, string>>(DEMO_USERS);
      const password = users.get('alice')!;
      users.delete('alice');
      try {
        const entry = await t.http().get('/device').set('Cookie', cookie);
        expect({ status: entry.status, location: entry.headers.location }).toEqual({ status: 303, location: '/login?next=%2Fdevice' });
        for (const action of ['approve', 'deny'] as const) {
          const res = await decide(action, cookie, csrf, flow.user_code);
          expect(res.status).toBe(401);
          expectPageHeaders(res);
          expect(res.text).toContain('Please sign in');
          expect(res.text).not.toContain('alice');
        }
      } finally {
        users.set('alice', password);
      }
      expect(await row(flow.user_code)).toMatchObject({ status: 'pending', user_id: null });
      expect((await poll(t, flow.device_code)).body).toEqual({ error: 'authorization_pending', error_description: 'The user has not yet approved or denied this request.' });
    });

    it('a tampered session cookie counts as signed out', async () => {
      const flow = await startFlow(t);
      const alice = await signIn(t, 'alice');
      const csrf = await entryCsrf(alice);
      const tampered = alice.slice(0, -2) + (alice.endsWith('AA') ? 'BB' : 'AA');
      const res = await decide('approve', tampered, csrf, flow.user_code);
      expect(res.status).toBe(401);
      expect((await t.http().get('/device').set('Cookie', tampered)).status).toBe(303);
      expect(await status(flow.user_code)).toBe('pending');
    });
  });

  describe('guessing limit', () => {
    it('after 5 wrong codes the page answers 429 with Retry-After, even for a correct code', async () => {
      const flow = await startFlow(t);
      const cookie = await signIn(t, 'alice');
      const csrf = await entryCsrf(cookie);
      const statuses: number[] = [];
      let lastLocked: Awaited<ReturnType<typeof submitCode>> | undefined;
      for (let i = 0; i < 10; i++) {
        const res = await submitCode(cookie, csrf, wrongCode(i));
        statuses.push(res.status);
        if (res.status === 429) lastLocked = res;
      }
      expect(statuses).toEqual([404, 404, 404, 404, 404, 429, 429, 429, 429, 429]);
      expectPageHeaders(lastLocked!);
      expect(lastLocked!.text).toContain('Too many wrong codes');
      const retryAfter = Number(lastLocked!.headers['retry-after']);
      expect(Number.isInteger(retryAfter)).toBe(true);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(15 * 60);

      // A correct code during the lockout is refused too, on every way in, and nothing is decided.
      const correct = await submitCode(cookie, csrf, flow.user_code);
      expect(correct.status).toBe(429);
      expect(correct.headers['retry-after']).toBeDefined();
      expect(correct.text).not.toContain('wants to access your account');
      expect((await t.http().get(`/device?user_code=${encodeURIComponent(flow.user_code)}`).set('Cookie', cookie)).status).toBe(429);
      const approve = await decide('approve', cookie, csrf, flow.user_code);
      expect(approve.status).toBe(429);
      expect(approve.headers['retry-after']).toBeDefined();
      expect(await status(flow.user_code)).toBe('pending');
    });

    it('a burst of parallel wrong codes cannot slip past the limit', async () => {
      const cookie = await signIn(t, 'alice');
      const csrf = await entryCsrf(cookie);
      const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => submitCode(cookie, csrf, wrongCode(i))));
      // Never more than the limit get through. (With two subjects, user and IP, interleaved
      // increments can refuse one more than strictly needed; refusing early is the safe side.)
      const through = responses.filter((res) => res.status === 404).length;
      expect(responses.every((res) => res.status === 404 || res.status === 429)).toBe(true);
      expect(through).toBeGreaterThanOrEqual(1);
      expect(through).toBeLessThanOrEqual(5);
    });

    it('counts failures per user and per IP', async () => {
      const flow = await startFlow(t);
      const alice = await signIn(t, 'alice');
      const bob = await signIn(t, 'bob');
      const aliceCsrf = await entryCsrf(alice);
      const bobCsrf = await entryCsrf(bob);
      for (let i = 0; i < DEFAULT_FAILURE_LIMIT; i++) {
        expect((await submitCode(alice, aliceCsrf, wrongCode(i))).status).toBe(404);
      }
      expect((await submitCode(alice, aliceCsrf, flow.user_code)).status).toBe(429);

      // bob from the same IP (127.0.0.1): limited, because the IP is.
      const bobSameIp = await submitCode(bob, bobCsrf, flow.user_code);
      expect(bobSameIp.status).toBe(429);
      expect(bobSameIp.headers['retry-after']).toBeDefined();

      // alice from another IP: still limited, because she is.
      const aliceOtherIp = await fromAddress('127.0.0.2', 'POST', '/device', alice, { user_code: flow.user_code, _csrf: aliceCsrf });
      expect(aliceOtherIp.status).toBe(429);
      expect(aliceOtherIp.headers['retry-after']).toBeDefined();

      // bob from another IP: neither he nor that IP failed, so the correct code works.
      const bobOtherIp = await fromAddress('127.0.0.2', 'POST', '/device', bob, { user_code: flow.user_code, _csrf: bobCsrf });
      expect(bobOtherIp.status).toBe(200);
      expect(bobOtherIp.text).toContain(`>${flow.user_code}</p>`);
      const approved = await fromAddress('127.0.0.2', 'POST', '/device/approve', bob, { user_code: flow.user_code, _csrf: bobCsrf });
      expect(approved.status).toBe(200);
      const stored = await row(flow.user_code);
      expect(stored.status).toBe('authorized');
      expect(stored.user_id).toBe('bob');
    });

    it('a wrong code on approve and deny counts as a failure too', async () => {
      const flow = await startFlow(t);
      const cookie = await signIn(t, 'alice');
      const csrf = await entryCsrf(cookie);
      for (let i = 0; i < DEFAULT_FAILURE_LIMIT; i++) {
        const res = await decide(i % 2 === 0 ? 'approve' : 'deny', cookie, csrf, wrongCode(i));
        expect(res.status).toBe(404);
      }
      expect((await decide('approve', cookie, csrf, flow.user_code)).status).toBe(429);
      expect(await status(flow.user_code)).toBe('pending');
    });

    it('Retry-After is honest, and after 15 minutes code entry works again', async () => {
      const cookie = await signIn(t, 'alice');
      const csrf = await entryCsrf(cookie);
      for (let i = 0; i < DEFAULT_FAILURE_LIMIT; i++) expect((await submitCode(cookie, csrf, wrongCode(i))).status).toBe(404);
      const locked = await submitCode(cookie, csrf, wrongCode(99));
      expect(locked.status).toBe(429);
      const retryAfter = Number(locked.headers['retry-after']);

      if (retryAfter > 1) {
        t.clock.advance((retryAfter - 1) * 1000);
        expect((await submitCode(cookie, csrf, wrongCode(98))).status).toBe(429);
        t.clock.advance(1000);
      } else {
        t.clock.advance(retryAfter * 1000);
      }
      // The lockout is over once Retry-After has passed.
      const fresh = await startFlow(t);
      expect((await submitCode(cookie, csrf, fresh.user_code)).status).toBe(200);

      // A full 15 minutes from any lockout always clears it.
      for (let i = 0; i < DEFAULT_FAILURE_LIMIT + 1; i++) await submitCode(cookie, csrf, wrongCode(i));
      expect((await submitCode(cookie, csrf, fresh.user_code)).status).toBe(429);
      t.clock.advance(FIFTEEN_MINUTES_MS);
      const later = await startFlow(t);
      expect((await submitCode(cookie, csrf, wrongCode(7))).status).toBe(404);
      const confirm = await submitCode(cookie, csrf, later.user_code);
      expect(confirm.status).toBe(200);
      expect((await decide('approve', cookie, csrfFrom(confirm.text), later.user_code)).status).toBe(200);
      expect(await status(later.user_code)).toBe('authorized');
    });

    it('a correct code is not a failure', async () => {
      const cookie = await signIn(t, 'alice');
      const csrf = await entryCsrf(cookie);
      const flow = await startFlow(t);
      for (let i = 0; i < DEFAULT_FAILURE_LIMIT * 2; i++) expect((await submitCode(cookie, csrf, flow.user_code)).status).toBe(200);
      for (let i = 0; i < DEFAULT_FAILURE_LIMIT; i++) expect((await submitCode(cookie, csrf, wrongCode(i))).status).toBe(404);
      expect((await submitCode(cookie, csrf, wrongCode(50))).status).toBe(429);
    });
  });

  describe('output and the demo sign-in', () => {
    it('escapes the entered code: <script> comes back as &lt;script&gt;, never raw', async () => {
      const cookie = await signIn(t, 'alice');
      const res = await submitCode(cookie, await entryCsrf(cookie), '<script>alert(1)</script>');
      expect(res.status).toBe(404);
      expectPageHeaders(res);
      expect(res.text).toContain('value="&lt;script&gt;alert(1)&lt;/script&gt;"');
      expect(res.text).not.toContain('<script>');
      expect(res.text).not.toMatch(/<script/i);
    });

    it('escapes an attribute-breaking code and the device user agent', async () => {
      const created = await t
        .http()
        .post('/oauth/device_authorization')
        .set('User-Agent', '<img src=x onerror="alert(1)">')
        .type('form')
        .send({ client_id: 'demo-cli' });
      const cookie = await signIn(t, 'alice');
      const csrf = await entryCsrf(cookie);
      const confirm = await submitCode(cookie, csrf, created.body.user_code);
      expect(confirm.status).toBe(200);
      expect(confirm.text).toContain('<dd>&lt;img src=x onerror=&quot;alert(1)&quot;&gt;</dd>');
      expect(confirm.text).not.toContain('<img');
      const quoted = await submitCode(cookie, csrf, '"><b>x</b>');
      expect(quoted.status).toBe(404);
      expect(quoted.text).toContain('value="&quot;&gt;&lt;b&gt;x&lt;/b&gt;"');
      expect(quoted.text).not.toContain('<b>x</b>');
    });

    it('drops control characters from the echoed code, in the query and in the form', async () => {
      const cookie = await signIn(t, 'alice');
      const controls = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/;
      const viaQuery = await t.http().get('/device?user_code=%00%01%1b%7f').set('Cookie', cookie);
      expect(viaQuery.status).toBe(404);
      expectPageHeaders(viaQuery);
      expect(viaQuery.text).toContain('name="user_code" class="code-input" value=""');
      expect(viaQuery.text).not.toMatch(controls);
      const viaForm = await submitCode(cookie, await entryCsrf(cookie), 'ZZ\x00ZZ\x1b-\x7fZZ\x08ZZ');
      expect(viaForm.status).toBe(404);
      expect(viaForm.text).toContain('name="user_code" class="code-input" value="ZZZZ-ZZZZ"');
      expect(viaForm.text).not.toMatch(controls);
    });

    it('/login: a wrong password is 401 and sets no session', async () => {
      const res = await t.http().post('/login').type('form').send({ username: 'alice', password: 'bob-password', next: '/device' });
      expect(res.status).toBe(401);
      expect(res.headers['set-cookie']).toBeUndefined();
      expect(res.text).toContain('Wrong username or password.');
      const unknown = await t.http().post('/login').type('form').send({ username: 'mallory', password: 'x', next: '/device' });
      expect(unknown.status).toBe(401);
      expect(unknown.headers['set-cookie']).toBeUndefined();
    });

    it('/login refuses a form posted from another site (login CSRF): 403, no session cookie', async () => {
      const cases: Record<string, string>[] = [
        { Origin: 'https://evil.example' },
        { 'Sec-Fetch-Site': 'cross-site' },
        { 'Sec-Fetch-Site': 'same-site', Origin: 'http://sub.device.test' },
        { Origin: 'null' },
        { Origin: 'http://device.test:8080' },
        { Origin: 'https://device.test' },
      ];
      for (const headers of cases) {
        const res = await t.http().post('/login').set(headers).type('form').send({ username: 'alice', password: 'alice-password', next: '/device' });
        expect({ headers, status: res.status, cookie: res.headers['set-cookie'] }).toEqual({ headers, status: 403, cookie: undefined });
        expect(res.headers['content-type']).toMatch(/^text\/html; charset=utf-8$/i);
        expect(res.headers['cache-control']).toBe('no-store');
        expect(res.text).toContain("This sign-in did not come from this site&#39;s own page. Open http://device.test/login and sign in there.");
      }
      // The form page sends referrers to its own origin only, so that browsers put the real Origin
      // on its POST (under no-referrer they send "Origin: null", refused above).
      expect((await t.http().get('/login')).headers['referrer-policy']).toBe('same-origin');
      // From the demo's own page (PUBLIC_URL's origin, same-origin fetch metadata), or from no
      // browser at all (no Origin), signing in works.
      for (const headers of [{ Origin: 'http://device.test', 'Sec-Fetch-Site': 'same-origin' }, { 'Sec-Fetch-Site': 'none' }, {}]) {
        const res = await t.http().post('/login').set(headers).type('form').send({ username: 'alice', password: 'alice-password', next: '/device' });
        expect({ headers, status: res.status, location: res.headers.location }).toEqual({ headers, status: 303, location: '/device' });
        expect(res.headers['set-cookie']).toEqual([expect.stringMatching(/^nda_session=[^;]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=28800$/)]);
      }
    });

    it('/login never redirects to another site: next=//evil.example goes to /device', async () => {
      for (const next of ['//evil.example', '//evil.example/device', 'https://evil.example/', '/\\evil.example', 'javascript:alert(1)']) {
        const res = await t.http().post('/login').type('form').send({ username: 'alice', password: 'alice-password', next });
        expect(res.status).toBe(303);
        expect(res.headers.location).toBe('/device');
        expect(res.headers['set-cookie']).toBeDefined();
      }
      // A next that cannot be a Location header (CR/LF, characters beyond Latin-1) is dropped too:
      // Fastify used to throw while writing the header, leaving the request hanging.
      for (const next of ['/device\r\nX-Injected: 1', '/device?x=\u20ac', '/devi ce']) {
        const res = await t.http().post('/login').type('form').send({ username: 'alice', password: 'alice-password', next }).timeout(5000);
        expect(res.status).toBe(303);
        expect(res.headers.location).toBe('/device');
        expect(res.headers['x-injected']).toBeUndefined();
      }
      const form = await t.http().get(`/login?next=${encodeURIComponent('//evil.example')}`);
      expect(form.status).toBe(200);
      expect(form.text).toContain('<input type="hidden" name="next" value="/device">');
      expect(form.text).not.toContain('evil.example');
    });

    it('/login keeps a same-site next, so verification_uri_complete survives signing in', async () => {
      const flow = await startFlow(t);
      const signedOut = await t.http().get(`/device?user_code=${encodeURIComponent(flow.user_code)}`);
      const loginPath = signedOut.headers.location as string;
      const form = await t.http().get(loginPath);
      expect(form.status).toBe(200);
      const next = /name="next" value="([^"]+)"/.exec(form.text)![1].replace(/&amp;/g, '&');
      expect(next).toBe(`/device?user_code=${encodeURIComponent(flow.user_code)}`);
      const res = await t.http().post('/login').type('form').send({ username: 'alice', password: 'alice-password', next });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe(next);
      const cookie = ([] as string[]).concat(res.headers['set-cookie'] ?? [])[0].split(';')[0];
      const confirm = await t.http().get(res.headers.location).set('Cookie', cookie);
      expect(confirm.status).toBe(200);
      expect(confirm.text).toContain(`>${flow.user_code}</p>`);
      expect(await status(flow.user_code)).toBe('pending');
    });

    it('serves the stylesheet as text/css', async () => {
      const res = await t.http().get('/device/assets/device.css');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/css(;|$)/);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.text).toContain('.code-input{');
    });
  });
});

describe.each(MATRIX)('VERIFICATION_FAILURE_LIMIT on %s with %s', (database, adapter) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp(database, adapter, { VERIFICATION_FAILURE_LIMIT: '2' });
  });
  afterAll(() => t.close());
  beforeEach(() => t.clearTables());

  it('locks after the configured number of wrong codes', async () => {
    const flow = await startFlow(t);
    const cookie = await signIn(t, 'alice');
    const entry = await t.http().get('/device').set('Cookie', cookie);
    const csrf = csrfFrom(entry.text);
    const send = (userCode: string) => t.http().post('/device').set('Cookie', cookie).type('form').send({ user_code: userCode, _csrf: csrf });
    expect((await send(wrongCode(0))).status).toBe(404);
    expect((await send(wrongCode(1))).status).toBe(404);
    const locked = await send(wrongCode(2));
    expect(locked.status).toBe(429);
    expect(locked.headers['retry-after']).toBeDefined();
    expect((await send(flow.user_code)).status).toBe(429);
    t.clock.advance(FIFTEEN_MINUTES_MS);
    const fresh = await startFlow(t);
    expect((await send(fresh.user_code)).status).toBe(200);
  });
});

describe.each(MATRIX)('a signed-in user the host no longer accepts (validateUser) on %s with %s', (database, adapter) => {
  let host: HostApp;
  const allowed = new Set(['alice', 'eve']);

  beforeAll(async () => {
    host = await startHostApp([hostTypeOrm(database), DeviceAuthModule.forRoot(hostOptions({ validateUser: (id) => allowed.has(id) }))], [], adapter);
  });
  afterAll(() => host.close());
  beforeEach(async () => {
    allowed.add('eve');
    await host.clearTables();
  });

  it('cannot approve or deny: a 403 page, and the code stays pending for someone else', async () => {
    const created = await host.http().post('/oauth/device_authorization').type('form').send({ client_id: 'host-cli' });
    expect(created.status).toBe(200);
    const { user_code: userCode, device_code: deviceCode } = created.body;
    const csrfOf = async (user: string) => csrfFrom((await host.http().get('/device').set('x-test-user', user)).text);
    const eveCsrf = await csrfOf('eve');
    allowed.delete('eve');
    for (const action of ['approve', 'deny']) {
      const res = await host.http().post(`/device/${action}`).set('x-test-user', 'eve').type('form').send({ user_code: userCode, _csrf: eveCsrf });
      expect(res.status).toBe(403);
      expectPageHeaders(res);
      expect(res.text).toContain('<h1>Your account cannot connect devices</h1>');
      expect(res.text).toContain('This account is no longer allowed to approve or deny sign-ins. Nothing was changed.');
      expect(res.text).not.toContain('Device connected');
    }
    const [row] = await host.dataSource.query('SELECT status, user_id FROM device_codes');
    expect({ status: row.status, user_id: row.user_id ?? null }).toEqual({ status: 'pending', user_id: null });
    const polled = await host.http().post('/oauth/token').type('form').send({ grant_type: DEVICE_CODE_GRANT_TYPE, device_code: deviceCode, client_id: 'host-cli' });
    expect(polled.body).toEqual({ error: 'authorization_pending', error_description: 'The user has not yet approved or denied this request.' });
    // A user the host accepts decides the same code: the refusal was eve's, not the code's.
    const approved = await host.http().post('/device/approve').set('x-test-user', 'alice').type('form').send({ user_code: userCode, _csrf: await csrfOf('alice') });
    expect(approved.status).toBe(200);
    expect(approved.text).toContain('Device connected');
  });
});
