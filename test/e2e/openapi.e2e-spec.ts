import { ADAPTERS, startTestApp, TestApp } from '../support/test-app';

interface Operation {
  requestBody?: { required?: boolean; content: Record<string, { schema: { $ref?: string } }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: Record<string, unknown> }> }>;
  [key: string]: unknown;
}
interface OpenApiDocument {
  openapi: string;
  info: { title: string };
  servers: { url: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, { type?: string; properties: Record<string, { type?: string; $ref?: string }>; required?: string[] }> };
}

/** Every endpoint of the module, with its methods. */
const MODULE_ENDPOINTS: Record<string, string[]> = {
  '/oauth/device_authorization': ['post'],
  '/oauth/token': ['post'],
  '/oauth/revoke': ['post'],
  '/oauth/introspect': ['post'],
  '/.well-known/oauth-authorization-server': ['get'],
  '/.well-known/jwks.json': ['get'],
  '/device': ['get', 'post'],
  '/device/approve': ['post'],
  '/device/deny': ['post'],
  '/device/api/session': ['get'],
  '/device/api/lookup': ['post'],
  '/device/api/approve': ['post'],
  '/device/api/deny': ['post'],
};

/** The endpoints that read form-encoded or JSON parameters and answer JSON. */
const JSON_POSTS = ['/oauth/device_authorization', '/oauth/token', '/oauth/revoke', '/oauth/introspect', '/device/api/lookup', '/device/api/approve', '/device/api/deny'];

const OAUTH_ERROR_REF = { $ref: '#/components/schemas/OAuthErrorBody' };

/**
 * An error response's schema is the OAuth error shape: the OAuthErrorBody itself, or a choice
 * among it and a subtype of it (slow_down's body, which adds `interval`).
 */
function oauthErrorSchema(schema: Record<string, unknown> | undefined): string {
  if (schema === undefined) return 'no schema';
  if (schema.$ref === OAUTH_ERROR_REF.$ref) return 'OAuthErrorBody';
  const choice = (schema.oneOf ?? schema.anyOf) as { $ref?: string }[] | undefined;
  if (choice?.some((s) => s.$ref === OAUTH_ERROR_REF.$ref) && choice.every((s) => /^#\/components\/schemas\/(OAuthErrorBody|SlowDownErrorBody)$/.test(s.$ref ?? ''))) {
    return 'OAuthErrorBody';
  }
  return JSON.stringify(schema);
}

describe.each(ADAPTERS)('OpenAPI document on %s', (adapter) => {
  let t: TestApp;
  let doc: OpenApiDocument;

  beforeAll(async () => {
    t = await startTestApp('sqlite', adapter);
    const res = await t.http().get('/docs/json');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    doc = res.body as OpenApiDocument;
  });
  afterAll(() => t.close());

  it('is OpenAPI 3 with the demo title and the public URL as server', () => {
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.info.title).toBe('nest-device-auth demo');
    expect(doc.servers).toEqual([{ url: 'http://device.test' }]);
  });

  it('lists every module endpoint with its methods', () => {
    for (const [path, methods] of Object.entries(MODULE_ENDPOINTS)) {
      expect({ path, methods: Object.keys(doc.paths[path] ?? {}).sort() }).toEqual({ path, methods: [...methods].sort() });
    }
    // The stylesheet is not an API.
    expect(doc.paths['/device/assets/device.css']).toBeUndefined();
  });

  it('documents the JSON endpoints as form-encoded or JSON requests with OAuth-shaped errors', () => {
    for (const path of JSON_POSTS) {
      const operation = doc.paths[path].post;
      expect({ path, consumes: Object.keys(operation.requestBody?.content ?? {}) }).toEqual({ path, consumes: ['application/x-www-form-urlencoded', 'application/json'] });
      const params = operation.requestBody!.content['application/json'].schema;
      expect(operation.requestBody!.content['application/x-www-form-urlencoded'].schema).toEqual(params);
      expect(doc.components.schemas[params.$ref!.replace('#/components/schemas/', '')]).toBeDefined();
      expect(Object.keys(operation.responses)).toContain('200');
      for (const [status, response] of Object.entries(operation.responses)) {
        if (Number(status) < 400) continue;
        expect({ path, status, schema: oauthErrorSchema(response.content?.['application/json']?.schema) }).toEqual({ path, status, schema: 'OAuthErrorBody' });
        expect(Object.keys(response.content!)).toEqual(['application/json']);
      }
    }
  });

  it('the token endpoint: 200 with the token body, 400 and 401 with the OAuth error shape', () => {
    const token = doc.paths['/oauth/token'].post;
    expect(Object.keys(token.responses).sort()).toEqual(['200', '400', '401', '413', '415', '503']);
    expect(token.responses['200'].content).toEqual({ 'application/json': { schema: { $ref: '#/components/schemas/TokenBody' } } });
    expect(Object.keys(token.responses['400'].content!)).toEqual(['application/json']);
    expect(oauthErrorSchema(token.responses['400'].content!['application/json'].schema)).toBe('OAuthErrorBody');
    expect(token.responses['401'].content).toEqual({ 'application/json': { schema: OAUTH_ERROR_REF } });
    for (const code of ['authorization_pending', 'slow_down', 'access_denied', 'expired_token', 'invalid_grant', 'unsupported_grant_type']) {
      expect(token.responses['400'].description).toContain(code);
    }
    expect(token.responses['401'].description).toContain('invalid_client');

    expect(doc.components.schemas.OAuthErrorBody).toEqual({
      type: 'object',
      properties: {
        error: { type: 'string', example: 'invalid_request', description: expect.any(String) },
        error_description: { type: 'string', example: expect.any(String) },
      },
      required: ['error', 'error_description'],
    });
    const body = doc.components.schemas.TokenBody;
    expect(Object.keys(body.properties).sort()).toEqual(['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type']);
    expect([...(body.required ?? [])].sort()).toEqual(['access_token', 'expires_in', 'scope', 'token_type']);
    const params = doc.components.schemas.TokenParams;
    expect(Object.keys(params.properties).sort()).toEqual(['client_id', 'client_secret', 'device_code', 'grant_type', 'refresh_token', 'scope']);
    expect(params.required).toEqual(['grant_type']);
  });

  it("documents slow_down's interval member (the token endpoint declares SlowDownErrorBody)", () => {
    // TokenController declares @ApiResponse({ status: 400, type: SlowDownErrorBody }) so clients learn
    // that slow_down carries the new `interval`; the document must keep that schema.
    expect(doc.components.schemas.SlowDownErrorBody?.properties).toEqual({
      error: expect.any(Object),
      error_description: expect.any(Object),
      interval: expect.objectContaining({ type: 'number' }),
    });
    expect(JSON.stringify(doc.paths['/oauth/token'])).toContain('#/components/schemas/SlowDownErrorBody');
  });

  it('the verification API documents its own errors', () => {
    const lookup = doc.paths['/device/api/lookup'].post;
    expect(Object.keys(lookup.responses).sort()).toEqual(['200', '400', '401', '403', '404', '409', '410', '413', '415', '429', '503']);
    expect(lookup.responses['200'].content).toEqual({ 'application/json': { schema: { $ref: '#/components/schemas/LookupBody' } } });
    expect(Object.keys(doc.components.schemas.LookupBody.properties).sort()).toEqual(
      ['client', 'expires_at', 'requested_at', 'requester_ip', 'requester_user_agent', 'scopes', 'user_code'].sort(),
    );
    const session = doc.paths['/device/api/session'].get;
    expect(session.responses['200'].content).toEqual({ 'application/json': { schema: { $ref: '#/components/schemas/SessionBody' } } });
    expect(session.responses['401'].content).toEqual({ 'application/json': { schema: OAUTH_ERROR_REF } });
    expect(doc.paths['/device/api/approve'].post.responses['200'].content).toEqual({ 'application/json': { schema: { $ref: '#/components/schemas/DecisionBody' } } });
  });

  it('the pages take form-encoded bodies only', () => {
    for (const path of ['/device', '/device/approve', '/device/deny']) {
      expect(Object.keys(doc.paths[path].post.requestBody?.content ?? {})).toEqual(['application/x-www-form-urlencoded']);
    }
  });

  it('every $ref resolves to a schema of the document', () => {
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]);
    expect(refs.length).toBeGreaterThan(10);
    for (const name of new Set(refs)) expect({ name, defined: name in doc.components.schemas }).toEqual({ name, defined: true });
  });

  it('GET /docs serves the HTML UI', async () => {
    const res = await t.http().get('/docs');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toContain('<title>Swagger UI</title>');
  });
});
