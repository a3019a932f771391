import { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { csrfFrom, DEVICE_CODE_GRANT_TYPE, signIn, startFlow } from '../support/flow';
import { bodyBytes, HostileRequest, hostileRequest } from '../support/hostile-input';
import { rawRequest, RawResponse } from '../support/raw-http';
import { CONFIDENTIAL_SECRET, MATRIX, startTestApp, TestApp } from '../support/test-app';

/**
 * Property-based tests (fast-check): whatever arrives at the two OAuth endpoints and the code
 * entry form, the answer is a precise 4xx in the endpoint's format, never a 5xx, and a refused
 * request writes nothing. On failure fast-check prints the seed and the shrunk request.
 */

const RUNS = 100;

/** Every error code the JSON endpoints may answer with, and the statuses each one goes with. */
const STATUSES: Record<string, number[]> = {
  invalid_request: [400, 413, 415],
  invalid_client: [401],
  invalid_grant: [400],
  invalid_scope: [400],
  unsupported_grant_type: [400],
  authorization_pending: [400],
  slow_down: [400],
  access_denied: [400],
  expired_token: [400],
};
const TOKEN_ERRORS = Object.keys(STATUSES);
const DEVICE_AUTHORIZATION_ERRORS = ['invalid_request', 'invalid_client', 'invalid_scope'];
/** RFC 6749 §5.2: error_description is printable ASCII without '"' and '\'. */
const RFC_DESCRIPTION = /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/;
const PAGE_STATUSES = [400, 403, 404, 413, 415];

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const AUTHORIZATIONS = [basic('tv-app', CONFIDENTIAL_SECRET), basic('tv-app', 'wrong'), basic('demo-cli', ''), basic('nobody', 'x'), 'Basic', 'Basic !!!', 'Bearer abc'];

describe.each(MATRIX)('properties of hostile input on %s with %s', (database, adapter) => {
  let t: TestApp;
  let port: number;
  /** A live pending code, a signed-in person and their CSRF token: the real values the fuzz mixes in. */
  let flow: Awaited<ReturnType<typeof startFlow>>;
  let cookie: string;
  let csrf: string;

  beforeAll(async () => {
    // No lockout: thousands of wrong codes must each get the plain answer (the limit has its own tests).
    t = await startTestApp(database, adapter, { VERIFICATION_FAILURE_LIMIT: '1000000' });
    await t.app.listen(0, '127.0.0.1');
    port = (t.app.getHttpServer().address() as AddressInfo).port;
  });
  afterAll(() => t.close());
  beforeEach(async () => {
    await t.clearTables();
    flow = await startFlow(t);
    cookie = await signIn(t, 'alice');
    csrf = csrfFrom((await t.http().get('/device').set('Cookie', cookie)).text);
  });

  function send(path: string, request: HostileRequest, extraHeaders: Record<string, string> = {}): Promise<RawResponse> {
    const headers: Record<string, string> = { ...extraHeaders };
    if (request.contentType !== undefined) headers['Content-Type'] = request.contentType;
    if (request.authorization !== undefined) headers.Authorization = request.authorization;
    if (request.contentEncoding !== undefined) headers['Content-Encoding'] = request.contentEncoding;
    return rawRequest(port, 'POST', path, headers, bodyBytes(request));
  }

  async function counts(): Promise<number[]> {
    const tables = ['device_codes', 'refresh_tokens', 'device_auth_rate_limits'];
    return Promise.all(tables.map(async (table) => Number((await t.dataSource.query(`SELECT COUNT(*) AS n FROM ${table}`))[0].n)));
  }

  async function liveRow(): Promise<Record<string, unknown>> {
    return (await t.dataSource.query('SELECT status, user_id, decided_at FROM device_codes WHERE user_code = ?', [flow.user_code.replace('-', '')]))[0];
  }

  /** The RFC 6749 §5.2 shape, with a registered code and the status that goes with it. */
  function expectOAuthError(res: RawResponse, allowed: string[]): void {
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = JSON.parse(res.text);
    expect(allowed).toContain(body.error);
    expect(STATUSES[body.error]).toContain(res.status);
    expect(Object.keys(body).sort()).toEqual(body.error === 'slow_down' ? ['error', 'error_description', 'interval'] : ['error', 'error_description']);
    expect(body.error_description).toMatch(RFC_DESCRIPTION);
  }

  it('POST /oauth/token: never a 5xx, always an RFC 6749 error, nothing written', async () => {
    const names = ['grant_type', 'device_code', 'client_id', 'client_secret', 'scope', 'refresh_token'];
    const values = [DEVICE_CODE_GRANT_TYPE, 'refresh_token', 'demo-cli', 'tv-app', 'refresh-cli', CONFIDENTIAL_SECRET, 'read', 'read write', 'admin', flow.device_code];
    const valid: Record<string, string>[] = [
      { grant_type: DEVICE_CODE_GRANT_TYPE, device_code: flow.device_code, client_id: 'demo-cli' },
      { grant_type: DEVICE_CODE_GRANT_TYPE, device_code: flow.device_code, client_id: 'tv-app', client_secret: CONFIDENTIAL_SECRET },
      { grant_type: 'refresh_token', refresh_token: 'a-refresh-token-nobody-was-given', client_id: 'refresh-cli', scope: 'read' },
    ];
    await fc.assert(
      fc.asyncProperty(hostileRequest(valid, names, values, AUTHORIZATIONS), async (request) => {
        const before = await counts();
        const res = await send('/oauth/token', request);
        // No grant here can succeed (the only code is pending), so every answer is an error.
        expectOAuthError(res, TOKEN_ERRORS);
        expect(await counts()).toEqual(before);
        expect(await liveRow()).toEqual({ status: 'pending', user_id: null, decided_at: null });
      }),
      { numRuns: RUNS },
    );
  });

  it('POST /oauth/device_authorization: a new code, or an RFC 6749 error and nothing written; never a 5xx', async () => {
    const names = ['client_id', 'client_secret', 'scope'];
    const values = ['demo-cli', 'tv-app', CONFIDENTIAL_SECRET, 'read', 'write', 'read write', 'read  write', 'admin', 'read "x"'];
    const valid: Record<string, string>[] = [{ client_id: 'demo-cli', scope: 'read write' }, { client_id: 'tv-app', client_secret: CONFIDENTIAL_SECRET }];
    await fc.assert(
      fc.asyncProperty(hostileRequest(valid, names, values, AUTHORIZATIONS), async (request) => {
        const [codes, ...rest] = await counts();
        const res = await send('/oauth/device_authorization', request);
        if (res.status === 200) {
          expect(Object.keys(JSON.parse(res.text)).sort()).toEqual(['device_code', 'expires_in', 'interval', 'user_code', 'verification_uri', 'verification_uri_complete']);
          expect(await counts()).toEqual([codes + 1, ...rest]);
          return;
        }
        expectOAuthError(res, DEVICE_AUTHORIZATION_ERRORS);
        expect(await counts()).toEqual([codes, ...rest]);
      }),
      { numRuns: RUNS },
    );
  });

  it('POST /device (signed in): the confirmation page, or an HTML page with a 4xx; never a 5xx, no code changed', async () => {
    const values = [flow.user_code, flow.user_code.toLowerCase().replace('-', ' '), 'BDWP-HQPK', csrf, `${csrf}x`];
    const rows = () => t.dataSource.query('SELECT * FROM device_codes ORDER BY id');
    await fc.assert(
      fc.asyncProperty(hostileRequest([{ user_code: flow.user_code, _csrf: csrf }], ['user_code', '_csrf'], values), async (request) => {
        const before = await rows();
        const tokens = (await counts())[1];
        const res = await send('/device', request, { Cookie: cookie });
        expect(res.headers['content-type']).toMatch(/^text\/html; charset=utf-8$/i);
        expect(res.text.startsWith('<!doctype html>')).toBe(true);
        if (res.status === 200) {
          // Only the real code with the real token gets here: its confirmation page.
          expect(res.text).toContain('action="/device/approve"');
          expect(res.text).toContain(flow.user_code);
        } else {
          expect(PAGE_STATUSES).toContain(res.status);
        }
        // Looking a code up decides nothing (wrong entries do count against the guessing limit).
        expect(await rows()).toEqual(before);
        expect((await counts())[1]).toBe(tokens);
      }),
      { numRuns: RUNS },
    );
  });

  describe('user codes, as people type them', () => {
    const CHARSET = 'BCDFGHJKLMNPQRSTVWXZ';
    /** Separators and noise people (or their keyboards) put in a code: none is a code character. */
    const NOISE = [' ', '  ', '-', '–', '—', '_', '.', '/', '\t', '\n', '\u00a0', '\u3000', '·', '😀', 'é', 'a', 'e', '0', '9'];

    /** The code as typed: each letter in either case, noise anywhere, at either end too. */
    const typed = (normalized: string) =>
      fc
        .tuple(
          fc.array(fc.boolean(), { minLength: normalized.length, maxLength: normalized.length }),
          fc.array(fc.array(fc.constantFrom(...NOISE), { maxLength: 2 }), { minLength: normalized.length + 1, maxLength: normalized.length + 1 }),
        )
        .map(([lower, noise]) => noise[0].join('') + [...normalized].map((ch, i) => (lower[i] ? ch.toLowerCase() : ch) + noise[i + 1].join('')).join(''));

    const lookup = (userCode: string) => t.http().post('/device/api/lookup').set('Cookie', cookie).set('X-CSRF-Token', csrf).send({ user_code: userCode });

    it('any spacing, case or dash variant of a live code finds that code and no other', async () => {
      const others = [await startFlow(t), await startFlow(t)];
      const live = [flow, ...others].map((f) => f.user_code);
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...live).chain((code) => fc.tuple(fc.constant(code), typed(code.replace('-', '')))),
          async ([code, input]) => {
            const res = await lookup(input);
            expect([res.status, res.body.user_code]).toEqual([200, code]);
          },
        ),
        { numRuns: RUNS },
      );
    });

    it('a code one character away from a live one (in any spelling) is not found', async () => {
      const normalized = flow.user_code.replace('-', '');
      const neighbour = fc
        .tuple(fc.nat({ max: normalized.length - 1 }), fc.constantFrom(...CHARSET))
        .filter(([i, ch]) => normalized[i] !== ch)
        .map(([i, ch]) => normalized.slice(0, i) + ch + normalized.slice(i + 1));
      await fc.assert(
        fc.asyncProperty(
          neighbour.chain((code) => typed(code)),
          async (input) => {
            const res = await lookup(input);
            expect([res.status, res.body]).toEqual([404, { error: 'invalid_user_code', error_description: expect.any(String) }]);
          },
        ),
        { numRuns: RUNS },
      );
      expect(await liveRow()).toEqual({ status: 'pending', user_id: null, decided_at: null });
    });
  });
});
