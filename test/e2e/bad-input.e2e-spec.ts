import { gzipSync } from 'node:zlib';
import type { Response } from 'supertest';
import { DEVICE_CODE_GRANT_TYPE, startFlow } from '../support/flow';
import { CONFIDENTIAL_SECRET, MATRIX, startTestApp, TestApp } from '../support/test-app';

/**
 * SPEC, rules every endpoint keeps: case-sensitive names; empty values count as absent; a
 * repeated parameter is invalid_request; unknown parameters are ignored; oversized values and
 * bodies are rejected early with a 4xx; bad input never produces a 500 nor a stack trace.
 * Every case: no 5xx, a JSON body of exactly `error` and `error_description`, no trace, and
 * nothing written to device_codes.
 */

const GRANT = DEVICE_CODE_GRANT_TYPE;
const invalidRequest = (description: string | jest.AsymmetricMatcher) => ({ error: 'invalid_request', error_description: description });
const repeated = (name: string) => invalidRequest(`The '${name}' parameter is repeated.`);
const notString = (name: string) => invalidRequest(`The '${name}' parameter must be a string.`);
const tooLong = (name: string, max: number) => invalidRequest(`The '${name}' parameter is longer than ${max} characters.`);
const NOT_AN_OBJECT = invalidRequest('The request body must be form-encoded parameters or a JSON object.');
const UNREADABLE = invalidRequest('The request could not be read.');
const TOO_LARGE = invalidRequest('The request body is too large.');
/** JSON `null` or `"abc"`: Express's strict JSON parser refuses it, Fastify parses it and the endpoint refuses it. */
const NOT_PARAMETERS = invalidRequest(
  expect.stringMatching(/^(The request body must be form-encoded parameters or a JSON object\.|The request could not be read\.)$/),
);
/** A body that is neither form-encoded nor JSON: either message tells the client what to send. */
const NOT_FORM_OR_JSON = invalidRequest(
  expect.stringMatching(
    /^(Send the parameters form-encoded \(application\/x-www-form-urlencoded\) or as JSON\.|The request body must be form-encoded parameters or a JSON object\.)$/,
  ),
);
const NO_CLIENT = { error: 'invalid_client', error_description: 'No client authentication was included: send client_id.' };

/** More than the 16 KiB body limit. */
const HUGE = 'a'.repeat(17 * 1024);
const COMPRESSED = invalidRequest('Send the body uncompressed (no Content-Encoding).');

/** A form body sent gzip-compressed: Express would inflate it, Fastify read the bytes as a form. */
function gzipForm(path: string, build: (deviceCode: string) => string): Send {
  return (t, deviceCode) =>
    t
      .http()
      .post(path)
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .set('Content-Encoding', 'gzip')
      // As is: superagent would otherwise serialise the bytes as a form.
      .serialize((bytes) => bytes)
      .send(gzipSync(build(encodeURIComponent(deviceCode))));
}

type Send = (t: TestApp, deviceCode: string) => Promise<Response>;

interface Case {
  name: string;
  send: Send;
  /** One status, or the statuses the two adapters may legitimately differ on. */
  status: number | number[];
  body: Record<string, unknown>;
}

function form(path: string, body: string): Send {
  return (t) => t.http().post(path).set('Content-Type', 'application/x-www-form-urlencoded').send(body);
}

function json(path: string, body: string): Send {
  return (t) => t.http().post(path).set('Content-Type', 'application/json').send(body);
}

function raw(path: string, contentType: string, body: string): Send {
  return (t) => t.http().post(path).set('Content-Type', contentType).send(body);
}

/** Form body built per test, so the live device code can go in it. */
function tokenForm(build: (deviceCode: string) => string): Send {
  return (t, deviceCode) => form('/oauth/token', build(encodeURIComponent(deviceCode)))(t, deviceCode);
}

function tokenJson(build: (deviceCode: string) => unknown): Send {
  return (t, deviceCode) => json('/oauth/token', JSON.stringify(build(deviceCode)))(t, deviceCode);
}

const TOKEN_CASES: Case[] = [
  {
    name: 'grant_type twice',
    send: tokenForm((dc) => `grant_type=${encodeURIComponent(GRANT)}&grant_type=${encodeURIComponent(GRANT)}&device_code=${dc}&client_id=demo-cli`),
    status: 400,
    body: repeated('grant_type'),
  },
  {
    name: 'device_code twice',
    send: tokenForm((dc) => `grant_type=${encodeURIComponent(GRANT)}&device_code=${dc}&device_code=${dc}&client_id=demo-cli`),
    status: 400,
    body: repeated('device_code'),
  },
  {
    name: 'client_id twice',
    send: tokenForm((dc) => `grant_type=${encodeURIComponent(GRANT)}&device_code=${dc}&client_id=demo-cli&client_id=demo-cli`),
    status: 400,
    body: repeated('client_id'),
  },
  {
    name: 'client_secret twice',
    send: tokenForm(
      (dc) => `grant_type=${encodeURIComponent(GRANT)}&device_code=${dc}&client_id=tv-app&client_secret=${CONFIDENTIAL_SECRET}&client_secret=${CONFIDENTIAL_SECRET}`,
    ),
    status: 400,
    body: repeated('client_secret'),
  },
  {
    name: 'an empty device_code (counts as absent)',
    send: tokenForm(() => `grant_type=${encodeURIComponent(GRANT)}&device_code=&client_id=demo-cli`),
    status: 400,
    body: invalidRequest('The device_code parameter is required.'),
  },
  {
    name: 'no device_code',
    send: tokenForm(() => `grant_type=${encodeURIComponent(GRANT)}&client_id=demo-cli`),
    status: 400,
    body: invalidRequest('The device_code parameter is required.'),
  },
  {
    name: 'an empty device_code in JSON',
    send: tokenJson(() => ({ grant_type: GRANT, device_code: '', client_id: 'demo-cli' })),
    status: 400,
    body: invalidRequest('The device_code parameter is required.'),
  },
  {
    name: 'an empty grant_type',
    send: tokenForm((dc) => `grant_type=&device_code=${dc}&client_id=demo-cli`),
    status: 400,
    body: invalidRequest('The grant_type parameter is required.'),
  },
  {
    name: 'no grant_type',
    send: tokenForm((dc) => `device_code=${dc}&client_id=demo-cli`),
    status: 400,
    body: invalidRequest('The grant_type parameter is required.'),
  },
  {
    name: 'Grant_Type (names are case-sensitive)',
    send: tokenForm((dc) => `Grant_Type=${encodeURIComponent(GRANT)}&device_code=${dc}&client_id=demo-cli`),
    status: 400,
    body: invalidRequest('The grant_type parameter is required.'),
  },
  {
    name: 'an unknown grant_type',
    send: tokenForm((dc) => `grant_type=authorization_code&device_code=${dc}&client_id=demo-cli`),
    status: 400,
    body: { error: 'unsupported_grant_type', error_description: `Supported grant types: ${GRANT} and refresh_token.` },
  },
  {
    name: 'the grant_type in upper case (values are exact)',
    send: tokenForm((dc) => `grant_type=${encodeURIComponent(GRANT.toUpperCase())}&device_code=${dc}&client_id=demo-cli`),
    status: 400,
    body: { error: 'unsupported_grant_type', error_description: `Supported grant types: ${GRANT} and refresh_token.` },
  },
  {
    name: 'an empty client_id (counts as absent)',
    send: tokenForm((dc) => `grant_type=${encodeURIComponent(GRANT)}&device_code=${dc}&client_id=`),
    status: 401,
    body: NO_CLIENT,
  },
  {
    name: 'JSON device_code: 123',
    send: tokenJson(() => ({ grant_type: GRANT, device_code: 123, client_id: 'demo-cli' })),
    status: 400,
    body: notString('device_code'),
  },
  {
    name: 'JSON device_code: true',
    send: tokenJson(() => ({ grant_type: GRANT, device_code: true, client_id: 'demo-cli' })),
    status: 400,
    body: notString('device_code'),
  },
  {
    name: 'JSON device_code as an object',
    send: tokenJson((dc) => ({ grant_type: GRANT, device_code: { value: dc }, client_id: 'demo-cli' })),
    status: 400,
    body: notString('device_code'),
  },
  {
    name: 'JSON client_id: ["a"]',
    send: tokenJson((dc) => ({ grant_type: GRANT, device_code: dc, client_id: ['a'] })),
    status: 400,
    body: repeated('client_id'),
  },
  {
    name: 'JSON grant_type as a one-element array',
    send: tokenJson((dc) => ({ grant_type: [GRANT], device_code: dc, client_id: 'demo-cli' })),
    status: 400,
    body: repeated('grant_type'),
  },
  {
    name: 'a JSON array body',
    send: tokenJson((dc) => [{ grant_type: GRANT, device_code: dc, client_id: 'demo-cli' }]),
    status: 400,
    body: NOT_AN_OBJECT,
  },
  { name: 'a JSON null body', send: json('/oauth/token', 'null'), status: 400, body: NOT_PARAMETERS },
  { name: 'a JSON string body', send: json('/oauth/token', '"grant_type"'), status: 400, body: NOT_PARAMETERS },
  {
    name: 'a device_code of 10,000 characters',
    send: tokenForm(() => `grant_type=${encodeURIComponent(GRANT)}&device_code=${'A'.repeat(10_000)}&client_id=demo-cli`),
    status: 400,
    body: tooLong('device_code', 128),
  },
  {
    name: 'a client_id of 10,000 characters',
    send: tokenForm((dc) => `grant_type=${encodeURIComponent(GRANT)}&device_code=${dc}&client_id=${'c'.repeat(10_000)}`),
    status: 400,
    body: tooLong('client_id', 128),
  },
  {
    name: 'a grant_type of 10,000 characters',
    send: tokenForm((dc) => `grant_type=${'g'.repeat(10_000)}&device_code=${dc}&client_id=demo-cli`),
    status: 400,
    body: tooLong('grant_type', 128),
  },
  {
    name: 'a form body over 16 KiB',
    send: tokenForm((dc) => `grant_type=${encodeURIComponent(GRANT)}&device_code=${dc}&client_id=demo-cli&padding=${HUGE}`),
    status: 413,
    body: TOO_LARGE,
  },
  {
    name: 'a JSON body over 16 KiB',
    send: tokenJson((dc) => ({ grant_type: GRANT, device_code: dc, client_id: 'demo-cli', padding: HUGE })),
    status: 413,
    body: TOO_LARGE,
  },
  { name: 'malformed JSON', send: json('/oauth/token', `{"grant_type": "${GRANT}", "device_code": `), status: 400, body: UNREADABLE },
  {
    name: 'a gzip-compressed body',
    send: gzipForm('/oauth/token', (dc) => `grant_type=${encodeURIComponent(GRANT)}&device_code=${dc}&client_id=demo-cli`),
    status: 415,
    body: COMPRESSED,
  },
  {
    name: 'a JSON content type with an empty body',
    send: json('/oauth/token', ''),
    status: 400,
    body: invalidRequest(expect.stringMatching(/^(The grant_type parameter is required\.|The request could not be read\.)$/)),
  },
  {
    name: 'a text/plain body',
    send: (t, dc) => raw('/oauth/token', 'text/plain', `grant_type=${encodeURIComponent(GRANT)}&device_code=${dc}&client_id=demo-cli`)(t, dc),
    status: [400, 415],
    body: NOT_FORM_OR_JSON,
  },
  {
    name: 'an application/xml body',
    send: raw('/oauth/token', 'application/xml', '<grant_type>x</grant_type>'),
    status: [400, 415],
    body: NOT_FORM_OR_JSON,
  },
  {
    name: 'HTTP Basic and client_secret together',
    send: (t, dc) =>
      t
        .http()
        .post('/oauth/token')
        .auth('tv-app', CONFIDENTIAL_SECRET)
        .type('form')
        .send({ grant_type: GRANT, device_code: dc, client_secret: CONFIDENTIAL_SECRET }),
    status: 400,
    body: invalidRequest('Use one client authentication method: HTTP Basic or client_secret in the body, not both.'),
  },
  {
    name: 'a body client_id that differs from the HTTP Basic one',
    send: (t, dc) => t.http().post('/oauth/token').auth('tv-app', CONFIDENTIAL_SECRET).type('form').send({ grant_type: GRANT, device_code: dc, client_id: 'demo-cli' }),
    status: 400,
    body: invalidRequest('The client_id in the body differs from the one in the Authorization header.'),
  },
  {
    name: 'an Authorization header that is not Basic credentials',
    send: (t, dc) => t.http().post('/oauth/token').set('Authorization', 'Basic !!!not-base64!!!').type('form').send({ grant_type: GRANT, device_code: dc }),
    status: 401,
    body: { error: 'invalid_client', error_description: 'The Authorization header is not valid HTTP Basic credentials.' },
  },
  {
    name: 'a device_code with NUL, quotes and non-ASCII characters',
    send: (t) => t.http().post('/oauth/token').type('form').send({ grant_type: GRANT, device_code: "\u0000'\"; DROP TABLE device_codes; -- é✓😀", client_id: 'demo-cli' }),
    status: 400,
    body: { error: 'invalid_grant', error_description: 'The device code is not valid for this client.' },
  },
];

const DA = '/oauth/device_authorization';

const DEVICE_AUTHORIZATION_CASES: Case[] = [
  { name: 'client_id twice', send: form(DA, 'client_id=demo-cli&client_id=demo-cli'), status: 400, body: repeated('client_id') },
  { name: 'scope twice', send: form(DA, 'client_id=demo-cli&scope=read&scope=write'), status: 400, body: repeated('scope') },
  {
    name: 'client_secret twice',
    send: form(DA, `client_id=tv-app&client_secret=${CONFIDENTIAL_SECRET}&client_secret=${CONFIDENTIAL_SECRET}`),
    status: 400,
    body: repeated('client_secret'),
  },
  { name: 'JSON client_id: ["a"]', send: json(DA, '{"client_id":["a"]}'), status: 400, body: repeated('client_id') },
  { name: 'JSON client_id: 123', send: json(DA, '{"client_id":123}'), status: 400, body: notString('client_id') },
  { name: 'JSON scope: ["read"]', send: json(DA, '{"client_id":"demo-cli","scope":["read"]}'), status: 400, body: repeated('scope') },
  { name: 'JSON scope: false', send: json(DA, '{"client_id":"demo-cli","scope":false}'), status: 400, body: notString('scope') },
  { name: 'a JSON array body', send: json(DA, '[{"client_id":"demo-cli"}]'), status: 400, body: NOT_AN_OBJECT },
  { name: 'a JSON null body', send: json(DA, 'null'), status: 400, body: NOT_PARAMETERS },
  { name: 'a JSON number body', send: json(DA, '42'), status: 400, body: NOT_PARAMETERS },
  { name: 'a client_id of 10,000 characters', send: form(DA, `client_id=${'c'.repeat(10_000)}`), status: 400, body: tooLong('client_id', 128) },
  { name: 'a scope of 2,000 characters', send: form(DA, `client_id=demo-cli&scope=${'read+'.repeat(400)}`), status: 400, body: tooLong('scope', 1024) },
  { name: 'a form body over 16 KiB', send: form(DA, `client_id=demo-cli&padding=${HUGE}`), status: 413, body: TOO_LARGE },
  { name: 'a JSON body over 16 KiB', send: json(DA, JSON.stringify({ client_id: 'demo-cli', padding: HUGE })), status: 413, body: TOO_LARGE },
  { name: 'malformed JSON', send: json(DA, '{"client_id": "demo-cli"'), status: 400, body: UNREADABLE },
  { name: 'a gzip-compressed body', send: gzipForm(DA, () => 'client_id=demo-cli'), status: 415, body: COMPRESSED },
  { name: 'a text/plain body', send: raw(DA, 'text/plain', 'client_id=demo-cli'), status: [400, 415], body: NOT_FORM_OR_JSON },
  { name: 'an application/xml body', send: raw(DA, 'application/xml', '<client_id>demo-cli</client_id>'), status: [400, 415], body: NOT_FORM_OR_JSON },
  { name: 'an empty client_id (counts as absent)', send: form(DA, 'client_id=&scope=read'), status: 401, body: NO_CLIENT },
  { name: 'Client_ID (names are case-sensitive)', send: form(DA, 'Client_ID=demo-cli'), status: 401, body: NO_CLIENT },
  {
    name: 'a scope with characters a scope cannot contain',
    send: form(DA, `client_id=demo-cli&scope=${encodeURIComponent('read"x')}`),
    status: 400,
    body: { error: 'invalid_scope', error_description: 'The scope parameter has characters a scope cannot contain.' },
  },
  {
    name: 'HTTP Basic and client_secret together',
    send: (t) => t.http().post(DA).auth('tv-app', CONFIDENTIAL_SECRET).type('form').send({ client_secret: CONFIDENTIAL_SECRET }),
    status: 400,
    body: invalidRequest('Use one client authentication method: HTTP Basic or client_secret in the body, not both.'),
  },
];

/** Status, exact body, only error and error_description, JSON, no-store, and nothing internal. */
function expectCleanError(res: Response, c: Case): void {
  const statuses = Array.isArray(c.status) ? c.status : [c.status];
  expect({ status: res.status, body: res.body }).toEqual({ status: statuses.includes(res.status) ? res.status : c.status, body: c.body });
  expect(res.status).toBeLessThan(500);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(Object.keys(res.body).sort()).toEqual(['error', 'error_description']);
  expect(typeof res.body.error_description).toBe('string');
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.text).not.toMatch(/\n\s+at |\.ts:\d+|\.js:\d+|node_modules|statusCode|QueryFailedError|SQLITE|ER_/);
}

describe.each(MATRIX)('bad input on %s with %s', (database, adapter) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp(database, adapter);
  });
  afterAll(() => t.close());
  beforeEach(() => t.clearTables());

  async function codeRows(): Promise<Record<string, unknown>[]> {
    const rows: Record<string, unknown>[] = await t.dataSource.query('SELECT status, interval_seconds, last_polled_at, user_id FROM device_codes');
    return rows.map((r) => ({ ...r, interval_seconds: Number(r.interval_seconds), last_polled_at: r.last_polled_at === null ? null : Number(r.last_polled_at) }));
  }

  describe('POST /oauth/token', () => {
    it.each(TOKEN_CASES.map((c) => [c.name, c] as const))('refuses %s', async (_name, c) => {
      // A live pending code, so a request that slipped through would show in its row.
      const flow = await startFlow(t);
      const res = await c.send(t, flow.device_code);
      expectCleanError(res, c);
      expect(await codeRows()).toEqual([{ status: 'pending', interval_seconds: 5, last_polled_at: null, user_id: null }]);
    });

    it('ignores unknown parameters', async () => {
      const flow = await startFlow(t);
      const res = await t
        .http()
        .post('/oauth/token')
        .type('form')
        .send(`grant_type=${encodeURIComponent(GRANT)}&device_code=${encodeURIComponent(flow.device_code)}&client_id=demo-cli&foo=bar&scope=admin&a%5Bb%5D=c&redirect_uri=x`);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'authorization_pending', error_description: 'The user has not yet approved or denied this request.' });
    });

    it('ignores unknown parameters in JSON, whatever their type', async () => {
      const flow = await startFlow(t);
      const res = await t
        .http()
        .post('/oauth/token')
        .send({ grant_type: GRANT, device_code: flow.device_code, client_id: 'demo-cli', extra: { nested: [1, 2, null] }, n: 5, flag: false, nothing: null });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'authorization_pending', error_description: 'The user has not yet approved or denied this request.' });
    });

    it('accepts form-encoded with a charset parameter on the content type', async () => {
      const flow = await startFlow(t);
      const res = await t
        .http()
        .post('/oauth/token')
        .set('Content-Type', 'application/x-www-form-urlencoded; charset=UTF-8')
        .send(`grant_type=${encodeURIComponent(GRANT)}&device_code=${encodeURIComponent(flow.device_code)}&client_id=demo-cli`);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'authorization_pending', error_description: 'The user has not yet approved or denied this request.' });
    });
  });

  describe('POST /oauth/device_authorization', () => {
    it.each(DEVICE_AUTHORIZATION_CASES.map((c) => [c.name, c] as const))('refuses %s', async (_name, c) => {
      const res = await c.send(t, '');
      expectCleanError(res, c);
      const [{ n }] = await t.dataSource.query('SELECT COUNT(*) AS n FROM device_codes');
      expect(Number(n)).toBe(0);
    });

    it('ignores unknown parameters', async () => {
      const res = await t.http().post(DA).type('form').send('client_id=demo-cli&foo=bar&response_type=code&a%5Bb%5D=c');
      expect(res.status).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual(['device_code', 'expires_in', 'interval', 'user_code', 'verification_uri', 'verification_uri_complete']);
      const [row] = await t.dataSource.query('SELECT client_id, scope FROM device_codes');
      expect(row).toEqual({ client_id: 'demo-cli', scope: 'read write' });
    });

    it('accepts Content-Encoding: identity', async () => {
      const res = await t.http().post(DA).type('form').set('Content-Encoding', 'identity').send('client_id=demo-cli');
      expect(res.status).toBe(200);
    });

    it('treats an empty scope as absent: the default scopes', async () => {
      const res = await t.http().post(DA).type('form').send('client_id=demo-cli&scope=');
      expect(res.status).toBe(200);
      const [row] = await t.dataSource.query('SELECT scope FROM device_codes');
      expect(row).toEqual({ scope: 'read write' });
    });

    it('treats a scope of only spaces as no scope: the default scopes', async () => {
      const res = await t.http().post(DA).type('form').send({ client_id: 'demo-cli', scope: '   ' });
      expect(res.status).toBe(200);
      const [row] = await t.dataSource.query('SELECT scope FROM device_codes');
      expect(row).toEqual({ scope: 'read write' });
    });
  });
});
