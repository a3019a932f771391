import { BadRequestException, Body, Controller, Module, Post } from '@nestjs/common';
import { DeviceAuthModule } from '../../src';
import { csrfFrom, decideViaPages, poll, signIn, startFlow } from '../support/flow';
import { HostApp, hostOptions, hostTypeOrm, startHostApp } from '../support/host-app';
import { MATRIX, startTestApp, TestApp } from '../support/test-app';

/** RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E only. */
const RFC_ERROR_TEXT = /^[\x20-\x21\x23-\x5B\x5D-\x7E]*$/;
const ONLY_POST = { error: 'invalid_request', error_description: 'This endpoint only accepts POST.' };

/** Well-formed base-20 codes that no flow handed out. */
function wrongCode(i: number): string {
  const charset = 'BCDFGHJKLMNPQRSTVWXZ';
  return `ZZZZ-ZZ${charset[Math.floor(i / charset.length) % charset.length]}${charset[i % charset.length]}`;
}

describe.each(MATRIX)('hardening on %s with %s', (database, adapter) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp(database, adapter);
    await t.app.listen(0, '127.0.0.1');
  });
  afterAll(() => t.close());
  beforeEach(() => t.clearTables());

  async function rateLimitRows(): Promise<number> {
    const [{ n }] = await t.dataSource.query('SELECT COUNT(*) AS n FROM device_auth_rate_limits');
    return Number(n);
  }

  async function row(userCode: string): Promise<{ status: string; user_id: string | null }> {
    const rows = await t.dataSource.query('SELECT status, user_id FROM device_codes WHERE user_code = ?', [userCode.replace('-', '')]);
    expect(rows).toHaveLength(1);
    return rows[0];
  }

  describe('405 on the POST-only endpoints', () => {
    const cases: [string, string][] = [
      ['get', '/oauth/token'],
      ['put', '/oauth/device_authorization'],
      ['get', '/oauth/device_authorization'],
      ['delete', '/oauth/revoke'],
      ['patch', '/oauth/introspect'],
      ['get', '/oauth/token?grant_type=refresh_token'],
      ['put', '/device/api/approve'],
    ];
    it.each(cases)('%s %s: 405, Allow: POST, in the OAuth format', async (method, path) => {
      const res = await (t.http() as unknown as Record<string, (path: string) => import('supertest').Test>)[method](path);
      expect({ status: res.status, body: res.body }).toEqual({ status: 405, body: ONLY_POST });
      expect(res.headers.allow).toBe('POST');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['content-type']).toMatch(/^application\/json/);
    });

    it('wherever the adapter routes a request to a module endpoint, a malformed body is answered in the OAuth format', async () => {
      // Express routes case-insensitively and ignores a trailing slash; Fastify does neither.
      for (const path of ['/oauth/token', '/oauth/token/', '/OAUTH/TOKEN', '/device/api/lookup/', '/Oauth/Device_Authorization']) {
        const reached = await t.http().post(path).type('form').send({ grant_type: 'x' });
        if (reached.status === 404) {
          // Not routed by this adapter: still answered in the OAuth format, as the module's paths are.
          expect(reached.body).toEqual({ error: 'invalid_request', error_description: 'There is no such endpoint.' });
          continue;
        }
        // The module answered: its bad-body answer must be its own too.
        expect(reached.body.error_description).toEqual(expect.any(String));
        const malformed = await t.http().post(path).set('Content-Type', 'application/json').send('{"grant_type": ');
        expect({ path, status: malformed.status, body: malformed.body }).toEqual({
          path,
          status: 400,
          body: { error: 'invalid_request', error_description: 'The request could not be read.' },
        });
      }
    });

    it('a path the module does not have keeps the framework 404', async () => {
      const res = await t.http().get('/oauth/nothing-here');
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ statusCode: 404, error: 'Not Found', message: 'Cannot GET /oauth/nothing-here' });
    });
  });

  describe('links from other sites only fill the code in', () => {
    it('Sec-Fetch-Site: cross-site: the entry page with the code prefilled, not the confirmation page', async () => {
      const flow = await startFlow(t);
      const cookie = await signIn(t, 'alice');
      const res = await t.http().get(`/device?user_code=${encodeURIComponent(flow.user_code)}`).set('Cookie', cookie).set('Sec-Fetch-Site', 'cross-site');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.text).toContain('<h1>Connect a device</h1>');
      expect(res.text).toMatch(new RegExp(`<input id="user_code" name="user_code" class="code-input" value="${flow.user_code}"`));
      expect(res.text).toContain('<form method="post" action="/device"');
      expect(res.text).not.toContain('wants to access your account');
      expect(res.text).not.toContain('action="/device/approve"');
      expect(res.text).not.toContain('class="problem"');
      // Nothing was looked up: no attempt counted, the code still pending.
      expect(await rateLimitRows()).toBe(0);
      expect(await row(flow.user_code)).toEqual({ status: 'pending', user_id: null });

      // The person presses Continue: the form posts the prefilled code and the confirmation follows.
      const confirm = await t.http().post('/device').set('Cookie', cookie).type('form').send({ user_code: flow.user_code, _csrf: csrfFrom(res.text) });
      expect(confirm.status).toBe(200);
      expect(confirm.text).toContain('<span class="client">Demo CLI</span> wants to access your account');
    });

    it('Sec-Fetch-Site: same-site is treated as another site too', async () => {
      const flow = await startFlow(t);
      const cookie = await signIn(t, 'alice');
      const res = await t.http().get(`/device?user_code=${encodeURIComponent(flow.user_code)}`).set('Cookie', cookie).set('Sec-Fetch-Site', 'same-site');
      expect(res.status).toBe(200);
      expect(res.text).toContain('<h1>Connect a device</h1>');
      expect(res.text).not.toContain('wants to access your account');
      expect(await rateLimitRows()).toBe(0);
    });

    it('cross-site wrong codes do not count toward the guessing limit', async () => {
      const flow = await startFlow(t);
      const cookie = await signIn(t, 'alice');
      for (let i = 0; i < 6; i++) {
        const res = await t.http().get(`/device?user_code=${wrongCode(i)}`).set('Cookie', cookie).set('Sec-Fetch-Site', 'cross-site');
        expect(res.status).toBe(200);
        expect(res.text).toContain(`value="${wrongCode(i)}"`);
        expect(res.text).not.toContain('That code is not right');
      }
      expect(await rateLimitRows()).toBe(0);
      const csrf = csrfFrom((await t.http().get('/device').set('Cookie', cookie)).text);
      const confirm = await t.http().post('/device').set('Cookie', cookie).type('form').send({ user_code: flow.user_code, _csrf: csrf });
      expect(confirm.status).toBe(200);
      expect(confirm.text).toContain('wants to access your account');
      expect(confirm.text).toContain(`>${flow.user_code}</p>`);
    });

    it('cross-site input is escaped when prefilled', async () => {
      const cookie = await signIn(t, 'alice');
      const res = await t.http().get(`/device?user_code=${encodeURIComponent('"><script>x</script>')}`).set('Cookie', cookie).set('Sec-Fetch-Site', 'cross-site');
      expect(res.status).toBe(200);
      expect(res.text).toContain('value="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"');
      expect(res.text).not.toMatch(/<script/i);
    });

    it.each(['none', 'same-origin', undefined])('Sec-Fetch-Site: %s (typed, scanned, or our own page) shows the confirmation page', async (site) => {
      const flow = await startFlow(t);
      const cookie = await signIn(t, 'alice');
      let req = t.http().get(`/device?user_code=${encodeURIComponent(flow.user_code)}`).set('Cookie', cookie);
      if (site !== undefined) req = req.set('Sec-Fetch-Site', site);
      const res = await req;
      expect(res.status).toBe(200);
      expect(res.text).toContain('<span class="client">Demo CLI</span> wants to access your account');
      expect(res.text).toContain(`>${flow.user_code}</p>`);
      expect(res.text).toContain('action="/device/approve"');
      expect(await row(flow.user_code)).toEqual({ status: 'pending', user_id: null });
    });
  });

  describe('error_description stays within the RFC 6749 character set', () => {
    async function refreshToken(): Promise<string> {
      const flow = await startFlow(t, { client_id: 'refresh-cli', scope: 'read write' });
      expect((await decideViaPages(t, await signIn(t, 'alice'), flow.user_code, 'approve')).status).toBe(200);
      const res = await poll(t, flow.device_code, { client_id: 'refresh-cli' });
      expect(res.status).toBe(200);
      return res.body.refresh_token;
    }

    it('an echoed scope with a quote, a backslash and a non-ASCII letter', async () => {
      const token = await refreshToken();
      const res = await t.http().post('/oauth/token').type('form').send({ grant_type: 'refresh_token', refresh_token: token, client_id: 'refresh-cli', scope: 'read "é\\' });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'invalid_scope', error_description: "The scope ''?/' was not granted; a refresh can only narrow the scope." });
      expect(res.body.error_description).toMatch(RFC_ERROR_TEXT);
      // As JSON, with control characters and an emoji, too.
      const json = await t.http().post('/oauth/token').send({ grant_type: 'refresh_token', refresh_token: token, client_id: 'refresh-cli', scope: 'read \u0001x\u007f\u{1F600}' });
      expect(json.status).toBe(400);
      expect(json.body.error).toBe('invalid_scope');
      expect(json.body.error_description).toMatch(RFC_ERROR_TEXT);
      // Nothing changed: the token still works.
      expect(await t.dataSource.query('SELECT status FROM refresh_tokens')).toEqual([{ status: 'active' }]);
    });

    it('every error answer of the JSON endpoints, whatever the input', async () => {
      const weird = 'é"\\\u0000\u2028<>';
      const answers = await Promise.all([
        t.http().post('/oauth/token').type('form').send(`grant_type=${encodeURIComponent(weird)}&client_id=demo-cli`),
        t.http().post('/oauth/token').type('form').send('grant_type=refresh_token&grant_type=refresh_token'),
        t.http().post('/oauth/token').type('form').send(`grant_type=refresh_token&refresh_token=${encodeURIComponent(weird)}&client_id=demo-cli`),
        t.http().post('/oauth/device_authorization').type('form').send({ client_id: weird }),
        t.http().post('/oauth/device_authorization').type('form').send({ client_id: 'demo-cli', scope: weird }),
        t.http().post('/oauth/device_authorization').type('form').send({ client_id: 'demo-cli', scope: "it's-not-allowed" }),
        t.http().post('/oauth/device_authorization').set('Authorization', `Basic ${Buffer.from(`${weird}:${weird}`).toString('base64')}`).type('form').send({}),
        t.http().post('/oauth/device_authorization').set('Authorization', 'Basic %%%').type('form').send({}),
        t.http().post('/oauth/device_authorization').send({ client_id: ['a', 'b'] }),
        t.http().post('/oauth/device_authorization').send({ client_id: { [weird]: weird } }),
        t.http().post('/oauth/device_authorization').set('Content-Type', 'application/json').send(`{"${weird}`),
        t.http().post('/oauth/revoke').type('form').send({ token: weird, client_id: weird }),
        t.http().post('/oauth/introspect').type('form').send({ token: weird, client_id: 'demo-cli' }),
        t.http().post('/device/api/lookup').type('form').send({ user_code: weird }),
      ]);
      for (const res of answers) {
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        expect(typeof res.body.error).toBe('string');
        expect({ description: res.body.error_description, ok: RFC_ERROR_TEXT.test(res.body.error_description) }).toEqual({
          description: res.body.error_description,
          ok: true,
        });
      }
      expect(answers[1].body).toEqual({ error: 'invalid_request', error_description: "The 'grant_type' parameter is repeated." });
      expect(answers[5].body).toEqual({ error: 'invalid_scope', error_description: "The scope 'it's-not-allowed' is not allowed for this client." });
    });
  });

  describe('parallel slow_downs', () => {
    async function burst(n: number) {
      const flow = await startFlow(t);
      const first = await poll(t, flow.device_code);
      expect(first.body.error).toBe('authorization_pending');
      const answers = await Promise.all(Array.from({ length: n }, () => poll(t, flow.device_code)));
      const [{ interval_seconds: stored }] = await t.dataSource.query('SELECT interval_seconds FROM device_codes WHERE user_code = ?', [flow.user_code.replace('-', '')]);
      return { flow, answers, stored: Number(stored) };
    }

    it('6 simultaneous too-fast polls: each slow_down adds 5 s to the stored interval', async () => {
      const { answers, stored } = await burst(6);
      for (const res of answers) {
        expect(res.status).toBe(400);
        expect(res.body).toEqual({
          error: 'slow_down',
          error_description: `Polling too fast; wait at least ${res.body.interval} seconds between requests.`,
          interval: expect.any(Number),
        });
      }
      const slowDowns = answers.filter((res) => res.body.error === 'slow_down').length;
      expect(slowDowns).toBe(6);
      expect(stored).toBe(Math.min(60, 5 + 5 * slowDowns));
    });

    it('the growth is capped at 60 s', async () => {
      const { answers, stored } = await burst(14);
      expect(answers.every((res) => res.body.error === 'slow_down')).toBe(true);
      expect(stored).toBe(60);
      for (const res of answers) expect(res.body.interval).toBeLessThanOrEqual(60);
    });

    it('the interval a slow_down answers is the new stored one: a device that waits it is not slowed again', async () => {
      const { flow, answers, stored } = await burst(6);
      const told = Math.max(...answers.map((res) => res.body.interval as number));
      expect({ told, stored }).toEqual({ told: stored, stored });
      t.clock.advance(told * 1000);
      expect((await poll(t, flow.device_code)).body.error).toBe('authorization_pending');
    });
  });
});

@Controller('admin')
class AdminController {
  @Post('device')
  fail(@Body() _body: unknown): never {
    throw new BadRequestException({ code: 'HOST' });
  }
}

@Module({ controllers: [AdminController] })
class AdminModule {}

describe.each(MATRIX)("the host's own routes on %s keep the host's error handling with %s", (database, adapter) => {
  let host: HostApp;

  beforeAll(async () => {
    host = await startHostApp([hostTypeOrm(database), DeviceAuthModule.forRoot(hostOptions()), AdminModule], [], adapter);
  });
  afterAll(() => host.close());

  it("an exception of a host route: the host's own JSON, not the module's page or OAuth error", async () => {
    for (const send of [
      () => host.http().post('/admin/device').type('form').send({ user_code: 'BCDF-GHJK' }),
      () => host.http().post('/admin/device').send({ any: 'thing' }),
      () => host.http().post('/admin/device?x=1'),
    ]) {
      const res = await send();
      expect({ status: res.status, body: res.body }).toEqual({ status: 400, body: { code: 'HOST' } });
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.headers['content-security-policy']).toBeUndefined();
    }
  });

  it("a host route's unknown method and a malformed body keep Nest's answers", async () => {
    const get = await host.http().get('/admin/device');
    expect({ status: get.status, body: get.body }).toEqual({ status: 404, body: { statusCode: 404, error: 'Not Found', message: 'Cannot GET /admin/device' } });
    expect(get.headers.allow).toBeUndefined();
    const malformed = await host.http().post('/admin/device').set('Content-Type', 'application/json').send('{"a":');
    // Nest's own answer, whose wording differs by adapter; never the module's OAuth or page format.
    expect(malformed.status).toBe(400);
    expect(malformed.body).toEqual(expect.objectContaining({ statusCode: 400, message: expect.any(String) }));
    expect(malformed.body.error_description).toBeUndefined();
    expect(malformed.headers['content-type']).toMatch(/^application\/json/);
  });

  it('the module still answers for its own paths on the same host', async () => {
    const res = await host.http().get('/oauth/token');
    expect({ status: res.status, body: res.body }).toEqual({ status: 405, body: ONLY_POST });
    expect(res.headers.allow).toBe('POST');
    const page = await host.http().post('/device').set('x-test-user', 'alice').set('Content-Type', 'application/json').send('{"user_code":');
    expect(page.status).toBe(400);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.text).toContain('That request could not be read');
  });
});
