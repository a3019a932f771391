import { DeviceAuthModule } from '../../src';
import { DEMO_USERS } from '../../src/demo/login.controller';
import { csrfFrom, DEVICE_CODE_GRANT_TYPE, poll, signIn } from '../support/flow';
import { HostApp, hostOptions, hostTypeOrm, startHostApp } from '../support/host-app';
import { MATRIX, startTestApp, TestApp } from '../support/test-app';

const DEVICE_UA = 'AcmeCLI/2.4.1 (linux; x64) e2e-device';
const DEMO_CLI = { client_id: 'demo-cli', name: 'Demo CLI' };

const LOGIN_REQUIRED = { error: 'login_required', error_description: 'Please sign in. Sign in first, then enter the code from your device again.' };
const INVALID_CSRF = {
  error: 'invalid_csrf_token',
  error_description: 'The CSRF token is missing or not the one for this session. Get it from GET /device/api/session and send it in the X-CSRF-Token header or the _csrf field.',
};
const INVALID_USER_CODE = { error: 'invalid_user_code', error_description: 'That code is not right. Check the code on your device and enter it again.' };
const EXPIRED = {
  error: 'expired_token',
  error_description: 'This code has expired. Codes last a few minutes. Start the sign-in again on your device to get a new one.',
};
const ALREADY = (what: 'approved' | 'denied') => ({
  error: 'code_already_used',
  error_description: `This code was already used. This request was already ${what}. Start again on your device if you need to.`,
});

/** Well-formed base-20 codes that no flow handed out. */
function wrongCode(i: number): string {
  const charset = 'BCDFGHJKLMNPQRSTVWXZ';
  return `ZZZZ-ZZ${charset[Math.floor(i / charset.length) % charset.length]}${charset[i % charset.length]}`;
}

interface Res {
  status: number;
  body: unknown;
  headers: Record<string, string>;
  text: string;
}

function expectNoStore(res: Res): void {
  expect(res.headers['cache-control']).toBe('no-store');
}

/** JSON content type on every API answer, success or error. */
function expectJson(res: Res, status: number, body: unknown): void {
  expect({ status: res.status, body: res.body }).toEqual({ status, body });
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expectNoStore(res);
}

describe.each(MATRIX)('verification API on %s with %s', (database, adapter) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp(database, adapter);
    // A real loopback IPv4 listener, so the server sees 127.0.0.1 on both adapters.
    await t.app.listen(0, '127.0.0.1');
  });
  afterAll(() => t.close());
  beforeEach(() => t.clearTables());

  async function row(userCode: string): Promise<{ status: string; user_id: string | null }> {
    const rows = await t.dataSource.query('SELECT status, user_id FROM device_codes WHERE user_code = ?', [userCode.replace('-', '')]);
    expect(rows).toHaveLength(1);
    return rows[0];
  }

  async function session(cookie: string): Promise<string> {
    const res = await t.http().get('/device/api/session').set('Cookie', cookie);
    expect(res.status).toBe(200);
    return res.body.csrf_token;
  }

  function api(path: 'lookup' | 'approve' | 'deny', cookie: string | undefined, csrf: string | undefined, body: object) {
    let req = t.http().post(`/device/api/${path}`);
    if (cookie !== undefined) req = req.set('Cookie', cookie);
    if (csrf !== undefined) req = req.set('X-CSRF-Token', csrf);
    return req.send(body);
  }

  async function deviceFlow(scope = 'read write') {
    const res = await t.http().post('/oauth/device_authorization').set('User-Agent', DEVICE_UA).type('form').send({ client_id: 'demo-cli', scope });
    expect(res.status).toBe(200);
    return res.body as { device_code: string; user_code: string };
  }

  describe('GET /device/api/session', () => {
    it('without a session: 401 login_required', async () => {
      const res = await t.http().get('/device/api/session');
      expectJson(res, 401, LOGIN_REQUIRED);
    });

    it('with the session cookie: the user and the CSRF token of the pages', async () => {
      const cookie = await signIn(t, 'alice');
      const res = await t.http().get('/device/api/session').set('Cookie', cookie);
      expectJson(res, 200, { user: { id: 'alice', display_name: 'alice' }, csrf_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
      const page = await t.http().get('/device').set('Cookie', cookie);
      expect(res.body.csrf_token).toBe(csrfFrom(page.text));
      // Another session of the same user has another token.
      expect(await session(await signIn(t, 'alice'))).not.toBe(res.body.csrf_token);
    });

    it('a session of a user removed from DEMO_USERS: 401 login_required on the session and the decisions', async () => {
      const flow = await deviceFlow();
      const cookie = await signIn(t, 'alice');
      const csrf = await session(cookie);
      const users = t.app.get<Map<string, string>>(DEMO_USERS);
      const password = users.get('alice')!;
      users.delete('alice');
      try {
        expectJson(await t.http().get('/device/api/session').set('Cookie', cookie), 401, LOGIN_REQUIRED);
        expectJson(await api('approve', cookie, csrf, { user_code: flow.user_code }), 401, LOGIN_REQUIRED);
        expectJson(await api('deny', cookie, csrf, { user_code: flow.user_code }), 401, LOGIN_REQUIRED);
      } finally {
        users.set('alice', password);
      }
      expect(await row(flow.user_code)).toEqual({ status: 'pending', user_id: null });
    });
  });

  describe('POST /device/api/lookup', () => {
    it('describes the request: code, client, scopes, when and from where', async () => {
      const flow = await deviceFlow();
      const requestedAt = t.clock.now();
      t.clock.advance(30 * 1000);
      const cookie = await signIn(t, 'alice');
      const res = await api('lookup', cookie, await session(cookie), { user_code: flow.user_code });
      expectJson(res, 200, {
        user_code: flow.user_code,
        client: DEMO_CLI,
        scopes: [
          { scope: 'read', description: 'Read your data' },
          { scope: 'write', description: 'Change your data' },
        ],
        requested_at: new Date(requestedAt).toISOString(),
        expires_at: new Date(requestedAt + 900 * 1000).toISOString(),
        requester_ip: '127.0.0.1',
        requester_user_agent: DEVICE_UA,
      });
      expect(await row(flow.user_code)).toEqual({ status: 'pending', user_id: null });
      // A lookup is not a failure: the guessing counters are back at zero.
      const counters: { hits: number | string }[] = await t.dataSource.query('SELECT hits FROM device_auth_rate_limits');
      expect(counters.map((c) => Number(c.hits))).toEqual([0, 0]);
    });

    it('accepts the code typed loosely, and lists one scope', async () => {
      const flow = await deviceFlow('read');
      const cookie = await signIn(t, 'alice');
      const csrf = await session(cookie);
      for (const typed of [flow.user_code.toLowerCase().replace('-', ' '), flow.user_code.replace('-', ''), ` ${flow.user_code.toLowerCase()} `]) {
        const res = await api('lookup', cookie, csrf, { user_code: typed });
        expect(res.status).toBe(200);
        expect(res.body.user_code).toBe(flow.user_code);
        expect(res.body.scopes).toEqual([{ scope: 'read', description: 'Read your data' }]);
      }
    });

    it('needs the CSRF token: missing or wrong is 403 invalid_csrf_token', async () => {
      const flow = await deviceFlow();
      const cookie = await signIn(t, 'alice');
      expectJson(await api('lookup', cookie, undefined, { user_code: flow.user_code }), 403, INVALID_CSRF);
      expectJson(await api('lookup', cookie, 'forged-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', { user_code: flow.user_code }), 403, INVALID_CSRF);
      // Bob's token with alice's session.
      const bobs = await session(await signIn(t, 'bob'));
      expectJson(await api('lookup', cookie, bobs, { user_code: flow.user_code }), 403, INVALID_CSRF);
      expectJson(await api('approve', cookie, bobs, { user_code: flow.user_code }), 403, INVALID_CSRF);
      expectJson(await api('deny', cookie, undefined, { user_code: flow.user_code }), 403, INVALID_CSRF);
      expect(await row(flow.user_code)).toEqual({ status: 'pending', user_id: null });
    });

    it('needs a session: 401 login_required, even with a valid token from another request', async () => {
      const flow = await deviceFlow();
      const csrf = await session(await signIn(t, 'alice'));
      for (const path of ['lookup', 'approve', 'deny'] as const) {
        expectJson(await api(path, undefined, csrf, { user_code: flow.user_code }), 401, LOGIN_REQUIRED);
      }
      expect(await row(flow.user_code)).toEqual({ status: 'pending', user_id: null });
    });

    it('an unknown code is 404 invalid_user_code; an empty or missing one too', async () => {
      const cookie = await signIn(t, 'alice');
      const csrf = await session(cookie);
      expectJson(await api('lookup', cookie, csrf, { user_code: wrongCode(0) }), 404, INVALID_USER_CODE);
      expectJson(await api('lookup', cookie, csrf, { user_code: '' }), 404, INVALID_USER_CODE);
      expectJson(await api('approve', cookie, csrf, {}), 404, INVALID_USER_CODE);
    });

    it('an expired code is 410 expired_token on lookup, approve and deny; the row is unchanged', async () => {
      const flow = await deviceFlow();
      const cookie = await signIn(t, 'alice');
      const csrf = await session(cookie);
      t.clock.advance(900 * 1000);
      for (const path of ['lookup', 'approve', 'deny'] as const) expectJson(await api(path, cookie, csrf, { user_code: flow.user_code }), 410, EXPIRED);
      expect(await row(flow.user_code)).toEqual({ status: 'pending', user_id: null });
      expect((await poll(t, flow.device_code)).body.error).toBe('expired_token');
    });

    it('a decided code is 409 code_already_used on lookup and on another decision', async () => {
      const flow = await deviceFlow();
      const cookie = await signIn(t, 'alice');
      const csrf = await session(cookie);
      expect((await api('deny', cookie, csrf, { user_code: flow.user_code })).status).toBe(200);
      expectJson(await api('lookup', cookie, csrf, { user_code: flow.user_code }), 409, ALREADY('denied'));
      expectJson(await api('approve', cookie, csrf, { user_code: flow.user_code }), 409, ALREADY('denied'));
      const bob = await signIn(t, 'bob');
      expectJson(await api('deny', bob, await session(bob), { user_code: flow.user_code }), 409, ALREADY('denied'));
      expect(await row(flow.user_code)).toEqual({ status: 'denied', user_id: 'alice' });
    });
  });

  describe('the decision', () => {
    it('approve: 200 approved with the client, the row is authorized for alice, the device gets its token', async () => {
      const flow = await deviceFlow('read');
      const cookie = await signIn(t, 'alice');
      const res = await api('approve', cookie, await session(cookie), { user_code: flow.user_code });
      expectJson(res, 200, { status: 'approved', client: DEMO_CLI });
      expect(await row(flow.user_code)).toEqual({ status: 'authorized', user_id: 'alice' });
      const token = await poll(t, flow.device_code);
      expect(token.status).toBe(200);
      expect(token.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, scope: 'read' });
      const me = await t.http().get('/api/me').set('Authorization', `Bearer ${token.body.access_token}`);
      expect(me.body).toEqual({ user: 'alice', client_id: 'demo-cli', scopes: ['read'] });
      // Approving again is 409; the row keeps the first decision.
      expectJson(await api('approve', cookie, await session(cookie), { user_code: flow.user_code }), 409, ALREADY('approved'));
    });

    it('deny: 200 denied, the row is denied, the device hears access_denied', async () => {
      const flow = await deviceFlow();
      const cookie = await signIn(t, 'bob');
      const res = await api('deny', cookie, await session(cookie), { user_code: flow.user_code.toLowerCase().replace('-', ' ') });
      expectJson(res, 200, { status: 'denied', client: DEMO_CLI });
      expect(await row(flow.user_code)).toEqual({ status: 'denied', user_id: 'bob' });
      const polled = await poll(t, flow.device_code);
      expect(polled.status).toBe(400);
      expect(polled.body).toEqual({ error: 'access_denied', error_description: 'The user denied the request.' });
    });

    it('a form-encoded body with _csrf works like JSON with the header', async () => {
      const flow = await deviceFlow();
      const cookie = await signIn(t, 'alice');
      const csrf = await session(cookie);
      const lookup = await t.http().post('/device/api/lookup').set('Cookie', cookie).type('form').send({ user_code: flow.user_code, _csrf: csrf });
      expect(lookup.status).toBe(200);
      expect(lookup.body.user_code).toBe(flow.user_code);
      // _csrf in a JSON body works too.
      const json = await t.http().post('/device/api/lookup').set('Cookie', cookie).send({ user_code: flow.user_code, _csrf: csrf });
      expect(json.status).toBe(200);
      const approved = await t.http().post('/device/api/approve').set('Cookie', cookie).type('form').send({ user_code: flow.user_code, _csrf: csrf });
      expectJson(approved, 200, { status: 'approved', client: DEMO_CLI });
      expect(await row(flow.user_code)).toEqual({ status: 'authorized', user_id: 'alice' });
    });

    it('a wrong header token is refused even with a right _csrf in the body', async () => {
      const flow = await deviceFlow();
      const cookie = await signIn(t, 'alice');
      const csrf = await session(cookie);
      const res = await t.http().post('/device/api/approve').set('Cookie', cookie).set('X-CSRF-Token', 'wrong').send({ user_code: flow.user_code, _csrf: csrf });
      expectJson(res, 403, INVALID_CSRF);
      expect(await row(flow.user_code)).toEqual({ status: 'pending', user_id: null });
    });
  });

  describe('the guessing limit, shared with the pages', () => {
    it('3 wrong codes on the API and 2 on POST /device: the 6th attempt on either is 429', async () => {
      const flow = await deviceFlow();
      const cookie = await signIn(t, 'alice');
      const csrf = await session(cookie);
      for (let i = 0; i < 3; i++) expectJson(await api('lookup', cookie, csrf, { user_code: wrongCode(i) }), 404, INVALID_USER_CODE);
      for (let i = 3; i < 5; i++) {
        const page = await t.http().post('/device').set('Cookie', cookie).type('form').send({ user_code: wrongCode(i), _csrf: csrf });
        expect(page.status).toBe(404);
      }

      const locked = await api('lookup', cookie, csrf, { user_code: flow.user_code });
      const retryAfter = Number(locked.headers['retry-after']);
      expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 15 * 60).toBe(true);
      const minutes = Math.ceil(retryAfter / 60);
      expectJson(locked, 429, {
        error: 'temporarily_unavailable',
        error_description: `Too many wrong codes. For your safety, code entry is paused. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
      });
      const approve = await api('approve', cookie, csrf, { user_code: flow.user_code });
      expect(approve.status).toBe(429);
      expect(approve.headers['retry-after']).toBe(String(retryAfter));

      const page = await t.http().post('/device').set('Cookie', cookie).type('form').send({ user_code: flow.user_code, _csrf: csrf });
      expect(page.status).toBe(429);
      expect(page.headers['retry-after']).toBe(String(retryAfter));
      expect(page.text).toContain('Too many wrong codes');
      expect(await row(flow.user_code)).toEqual({ status: 'pending', user_id: null });
    });

    it('and the other way round: 5 wrong codes on the pages lock the API', async () => {
      const flow = await deviceFlow();
      const cookie = await signIn(t, 'alice');
      const csrf = await session(cookie);
      for (let i = 0; i < 5; i++) {
        expect((await t.http().post('/device').set('Cookie', cookie).type('form').send({ user_code: wrongCode(i), _csrf: csrf })).status).toBe(404);
      }
      const res = await api('lookup', cookie, csrf, { user_code: flow.user_code });
      expect(res.status).toBe(429);
      expect(res.body.error).toBe('temporarily_unavailable');
      expect(res.headers['retry-after']).toMatch(/^[1-9][0-9]*$/);
      expectNoStore(res);
    });
  });

  describe('bad requests', () => {
    it('a malformed JSON body is 400 invalid_request in the OAuth shape', async () => {
      const cookie = await signIn(t, 'alice');
      const csrf = await session(cookie);
      for (const path of ['lookup', 'approve', 'deny']) {
        const res = await t.http().post(`/device/api/${path}`).set('Cookie', cookie).set('X-CSRF-Token', csrf).set('Content-Type', 'application/json').send('{"user_code": ');
        expectJson(res, 400, { error: 'invalid_request', error_description: 'The request could not be read.' });
        expect(res.body).not.toHaveProperty('statusCode');
      }
    });

    it('a body over 16 KiB is 413 invalid_request in the OAuth shape', async () => {
      const cookie = await signIn(t, 'alice');
      const csrf = await session(cookie);
      const res = await api('lookup', cookie, csrf, { user_code: 'B'.repeat(20 * 1024) });
      expectJson(res, 413, { error: 'invalid_request', error_description: 'The request body is too large.' });
    });

    it('another method on a POST endpoint is 405 with Allow: POST', async () => {
      for (const path of ['lookup', 'approve', 'deny']) {
        const res = await t.http().get(`/device/api/${path}`);
        expectJson(res, 405, { error: 'invalid_request', error_description: 'This endpoint only accepts POST.' });
        expect(res.headers.allow).toBe('POST');
      }
    });

    it('a text/plain body is 415', async () => {
      const flow = await deviceFlow();
      const cookie = await signIn(t, 'alice');
      const csrf = await session(cookie);
      const res = await t.http().post('/device/api/approve').set('Cookie', cookie).set('X-CSRF-Token', csrf).set('Content-Type', 'text/plain').send(`user_code=${flow.user_code}`);
      expectJson(res, 415, { error: 'invalid_request', error_description: 'Send the parameters form-encoded (application/x-www-form-urlencoded) or as JSON.' });
      expect(await row(flow.user_code)).toEqual({ status: 'pending', user_id: null });
    });

    it('a repeated, non-string or oversized user_code is 400 invalid_request', async () => {
      const cookie = await signIn(t, 'alice');
      const csrf = await session(cookie);
      const repeated = await t.http().post('/device/api/lookup').set('Cookie', cookie).set('X-CSRF-Token', csrf).type('form').send('user_code=BCDF-GHJK&user_code=BCDF-GHJK');
      expectJson(repeated, 400, { error: 'invalid_request', error_description: "The 'user_code' parameter is repeated." });
      expectJson(await api('lookup', cookie, csrf, { user_code: 12345678 }), 400, { error: 'invalid_request', error_description: "The 'user_code' parameter must be a string." });
      expectJson(await api('lookup', cookie, csrf, { user_code: 'B'.repeat(65) }), 400, {
        error: 'invalid_request',
        error_description: "The 'user_code' parameter is longer than 64 characters.",
      });
    });
  });
});

describe.each(MATRIX)('verification API for a user the host no longer accepts (validateUser) on %s with %s', (database, adapter) => {
  let host: HostApp;
  const allowed = new Set(['alice', 'eve']);
  const REFUSED = {
    error: 'access_denied',
    error_description: 'Your account cannot connect devices. This account is no longer allowed to approve or deny sign-ins. Nothing was changed.',
  };

  beforeAll(async () => {
    host = await startHostApp([hostTypeOrm(database), DeviceAuthModule.forRoot(hostOptions({ validateUser: (id) => allowed.has(id) }))], [], adapter);
  });
  afterAll(() => host.close());
  beforeEach(async () => {
    allowed.add('eve');
    await host.clearTables();
  });

  it('approve and deny are 403 access_denied and change nothing; an accepted user can still decide', async () => {
    const created = await host.http().post('/oauth/device_authorization').type('form').send({ client_id: 'host-cli' });
    expect(created.status).toBe(200);
    const csrfOf = async (user: string) => (await host.http().get('/device/api/session').set('x-test-user', user)).body.csrf_token as string;
    const eveCsrf = await csrfOf('eve');
    allowed.delete('eve');
    for (const action of ['approve', 'deny']) {
      const res = await host.http().post(`/device/api/${action}`).set('x-test-user', 'eve').set('X-CSRF-Token', eveCsrf).send({ user_code: created.body.user_code });
      expectJson(res, 403, REFUSED);
    }
    const [row] = await host.dataSource.query('SELECT status, user_id FROM device_codes');
    expect({ status: row.status, user_id: row.user_id ?? null }).toEqual({ status: 'pending', user_id: null });
    const polled = await host.http().post('/oauth/token').type('form').send({ grant_type: DEVICE_CODE_GRANT_TYPE, device_code: created.body.device_code, client_id: 'host-cli' });
    expect(polled.body).toEqual({ error: 'authorization_pending', error_description: 'The user has not yet approved or denied this request.' });
    const approved = await host.http().post('/device/api/approve').set('x-test-user', 'alice').set('X-CSRF-Token', await csrfOf('alice')).send({ user_code: created.body.user_code });
    expectJson(approved, 200, { status: 'approved', client: { client_id: 'host-cli', name: 'Host CLI' } });
  });
});
