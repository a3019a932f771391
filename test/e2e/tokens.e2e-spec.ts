import { generateKeyPairSync, JsonWebKey, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRemoteJWKSet, importJWK, jwtVerify, SignJWT } from 'jose';
import * as client from 'openid-client';
import { ClientRegistry } from '../../src/clients/client.interface';
import { sha256Hex } from '../../src/codes/device-code';
import { DEMO_USERS } from '../../src/demo/login.controller';
import { TokenService } from '../../src/token/token.service';
import { decideViaPages, poll, signIn, startFlow } from '../support/flow';
import { CONFIDENTIAL_SECRET, MATRIX, startTestApp, TestApp } from '../support/test-app';
import { freePort } from '../support/free-port';

const REFRESH_CLIENT = { client_id: 'refresh-cli' };

interface TokenBody {
  access_token: string;
  token_type: string;
  expires_in: number;
  scope: string;
  refresh_token?: string;
}

describe.each(MATRIX)('tokens on %s with %s', (database, adapter) => {
  let t: TestApp;
  let issuer: string;

  beforeAll(async () => {
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}`;
    t = await startTestApp(database, adapter, { PUBLIC_URL: issuer, DEVICE_POLL_INTERVAL: '1' });
    await t.app.listen(port, '127.0.0.1');
  });
  afterAll(() => t.close());
  beforeEach(() => t.clearTables());

  /** The whole device flow through the pages, for `refresh-cli` unless told otherwise. */
  async function tokensFor(scope = 'read write', form: Record<string, string> = REFRESH_CLIENT, user = 'alice'): Promise<TokenBody> {
    const flow = await startFlow(t, { ...form, scope });
    await decideViaPages(t, await signIn(t, user), flow.user_code, 'approve');
    const res = await poll(t, flow.device_code, form);
    expect(res.status).toBe(200);
    return res.body as TokenBody;
  }

  function refresh(refreshToken: string, extra: Record<string, string> = {}) {
    return t.http().post('/oauth/token').type('form').send({ grant_type: 'refresh_token', refresh_token: refreshToken, ...REFRESH_CLIENT, ...extra });
  }

  async function refreshStatuses(): Promise<string[]> {
    const rows: { status: string }[] = await t.dataSource.query('SELECT status FROM refresh_tokens ORDER BY id');
    return rows.map((row) => row.status);
  }

  /** The demo's signing key, as the server keeps it in DATA_DIR. */
  function serverKey(): JsonWebKey {
    return JSON.parse(readFileSync(join(t.dataDir, 'demo-secrets.json'), 'utf8')).signingKey;
  }

  const INVALID_GRANT = { error: 'invalid_grant', error_description: 'The refresh token is not valid.' };

  describe('refresh tokens', () => {
    it('openid-client completes the flow, refreshes, and reuse of the old token revokes the new one too', async () => {
      const config = await client.discovery(new URL(issuer), 'refresh-cli', undefined, client.None(), {
        algorithm: 'oauth2',
        execute: [client.allowInsecureRequests],
      });
      const device = await client.initiateDeviceAuthorization(config, { scope: 'read write' });
      await decideViaPages(t, await signIn(t, 'alice'), device.user_code, 'approve');
      const first = await client.pollDeviceAuthorizationGrant(config, device);
      expect(first.token_type).toBe('bearer');
      expect(first.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);

      const second = await client.refreshTokenGrant(config, first.refresh_token!);
      expect(second.access_token).not.toBe(first.access_token);
      expect(second.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(second.refresh_token).not.toBe(first.refresh_token);
      expect(second.scope).toBe('read write');

      await expect(client.refreshTokenGrant(config, first.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant', status: 400 });
      await expect(client.refreshTokenGrant(config, second.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant', status: 400 });
      expect(await refreshStatuses()).toEqual(['revoked', 'revoked']);
    });

    it('stores only a hash of each refresh token, in one family per approval', async () => {
      const tokens = await tokensFor();
      const rows = await t.dataSource.query('SELECT token_hash, family_id, client_id, user_id, scope, status FROM refresh_tokens');
      expect(rows).toEqual([
        { token_hash: expect.stringMatching(/^[0-9a-f]{64}$/), family_id: expect.stringMatching(/^[0-9a-f]{32}$/), client_id: 'refresh-cli', user_id: 'alice', scope: 'read write', status: 'active' },
      ]);
      expect(JSON.stringify(rows)).not.toContain(tokens.refresh_token);
    });

    it('a client not allowed refresh tokens gets none', async () => {
      const tokens = await tokensFor('read', { client_id: 'demo-cli' });
      expect(tokens).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, scope: 'read' });
      expect(await refreshStatuses()).toEqual([]);
    });

    it('rotates on every use: the response has a new pair and the old token is marked used', async () => {
      const tokens = await tokensFor();
      const res = await refresh(tokens.refresh_token!);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, scope: 'read write', refresh_token: expect.any(String) });
      expect(res.headers['cache-control']).toBe('no-store');
      expect(await refreshStatuses()).toEqual(['used', 'active']);
    });

    it('narrows the scope on refresh, never widens it; a refused widening changes nothing', async () => {
      const tokens = await tokensFor();
      const wider = await refresh(tokens.refresh_token!, { scope: 'read admin' });
      expect(wider.status).toBe(400);
      expect(wider.body).toEqual({ error: 'invalid_scope', error_description: "The scope 'admin' was not granted; a refresh can only narrow the scope." });
      expect(await refreshStatuses()).toEqual(['active']);

      const narrow = await refresh(tokens.refresh_token!, { scope: 'read' });
      expect(narrow.status).toBe(200);
      expect(narrow.body.scope).toBe('read');
      const me = await t.http().get('/api/me').set('Authorization', `Bearer ${narrow.body.access_token}`);
      expect(me.body).toEqual({ user: 'alice', client_id: 'refresh-cli', scopes: ['read'] });
      // The new refresh token keeps the family's scope (RFC 6749 §6).
      const again = await refresh(narrow.body.refresh_token);
      expect(again.body.scope).toBe('read write');
    });

    it('five simultaneous refreshes with one token: one 200, the rest invalid_grant, and the family is revoked', async () => {
      const tokens = await tokensFor();
      const results = await Promise.all(Array.from({ length: 5 }, () => refresh(tokens.refresh_token!)));
      expect(results.filter((res) => res.status === 200)).toHaveLength(1);
      for (const res of results.filter((r) => r.status !== 200)) {
        expect(res.status).toBe(400);
        expect(res.body).toEqual(INVALID_GRANT);
      }
      const winner = results.find((res) => res.status === 200)!;
      expect((await refresh(winner.body.refresh_token)).body).toEqual(INVALID_GRANT);
      expect(new Set(await refreshStatuses())).toEqual(new Set(['revoked']));
    });

    it('ten simultaneous polls of an approved code: one refresh token row, active, the winner’s; the losers leave none', async () => {
      const flow = await startFlow(t, { ...REFRESH_CLIENT, scope: 'read' });
      await decideViaPages(t, await signIn(t, 'alice'), flow.user_code, 'approve');
      const results = await Promise.all(Array.from({ length: 10 }, () => poll(t, flow.device_code, REFRESH_CLIENT)));
      const winners = results.filter((res) => res.status === 200);
      expect(winners).toHaveLength(1);
      for (const loser of results.filter((res) => res.status !== 200)) {
        expect({ status: loser.status, body: loser.body }).toEqual({ status: 400, body: { error: 'invalid_grant', error_description: 'The device code has already been used.' } });
      }
      const rows = await t.dataSource.query('SELECT token_hash, status FROM refresh_tokens');
      expect(rows).toEqual([{ token_hash: sha256Hex(winners[0].body.refresh_token), status: 'active' }]);
    });

    it('a token issued for a grant lost to another request is deleted, and only that one', async () => {
      const kept = await tokensFor();
      const tokens = t.app.get(TokenService);
      const lost = await tokens.issue({ userId: 'alice', clientId: 'refresh-cli', scope: 'read' }, (await t.app.get<ClientRegistry>(ClientRegistry).findClient('refresh-cli'))!);
      expect(await refreshStatuses()).toEqual(['active', 'active']);
      await tokens.discard(lost);
      const rows = await t.dataSource.query('SELECT token_hash, status FROM refresh_tokens');
      expect(rows).toEqual([{ token_hash: sha256Hex(kept.refresh_token!), status: 'active' }]);
    });

    it("another client's refresh token, an unknown one, and an expired one are invalid_grant", async () => {
      const tokens = await tokensFor();
      const other = await refresh(tokens.refresh_token!, { client_id: 'tv-app', client_secret: CONFIDENTIAL_SECRET });
      expect(other.status).toBe(400);
      expect(other.body).toEqual(INVALID_GRANT);
      expect((await refresh('not-a-refresh-token')).body).toEqual(INVALID_GRANT);
      t.clock.advance(30 * 24 * 3600 * 1000);
      const expired = await refresh(tokens.refresh_token!);
      expect(expired.status).toBe(400);
      expect(expired.body).toEqual({ error: 'invalid_grant', error_description: 'The refresh token has expired.' });
    });

    it('refresh_token is required for the refresh grant', async () => {
      const res = await t.http().post('/oauth/token').type('form').send({ grant_type: 'refresh_token', ...REFRESH_CLIENT });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'invalid_request', error_description: 'The refresh_token parameter is required.' });
    });
  });

  describe('revocation (RFC 7009)', () => {
    it('revoking a refresh token makes refreshing with it invalid_grant', async () => {
      const tokens = await tokensFor();
      const res = await t.http().post('/oauth/revoke').type('form').send({ token: tokens.refresh_token, ...REFRESH_CLIENT });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({});
      expect(await refreshStatuses()).toEqual(['revoked']);
      expect((await refresh(tokens.refresh_token!)).body).toEqual(INVALID_GRANT);
    });

    it('an unknown token and another client’s token get 200 and nothing changes', async () => {
      const tokens = await tokensFor();
      const unknown = await t.http().post('/oauth/revoke').type('form').send({ token: 'nope', ...REFRESH_CLIENT });
      expect(unknown.status).toBe(200);
      const other = await t.http().post('/oauth/revoke').auth('tv-app', CONFIDENTIAL_SECRET).type('form').send({ token: tokens.refresh_token });
      expect(other.status).toBe(200);
      expect(await refreshStatuses()).toEqual(['active']);
    });

    it('an access token cannot be revoked: unsupported_token_type', async () => {
      const tokens = await tokensFor();
      const res = await t.http().post('/oauth/revoke').type('form').send({ token: tokens.access_token, ...REFRESH_CLIENT });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        error: 'unsupported_token_type',
        error_description: 'Access tokens cannot be revoked; they expire by themselves. Revoke the refresh token.',
      });
    });

    it("another client's access token gets the same 200 as an unknown token, and nothing changes", async () => {
      const tokens = await tokensFor();
      const fromTv = await t.http().post('/oauth/revoke').auth('tv-app', CONFIDENTIAL_SECRET).type('form').send({ token: tokens.access_token });
      expect({ status: fromTv.status, body: fromTv.body }).toEqual({ status: 200, body: {} });
      const fromDemoCli = await t.http().post('/oauth/revoke').type('form').send({ token: tokens.access_token, client_id: 'demo-cli' });
      expect({ status: fromDemoCli.status, body: fromDemoCli.body }).toEqual({ status: 200, body: {} });
      expect(await refreshStatuses()).toEqual(['active']);
      expect((await t.http().get('/api/me').set('Authorization', `Bearer ${tokens.access_token}`)).status).toBe(200);
    });

    it('needs client authentication and a token', async () => {
      const noClient = await t.http().post('/oauth/revoke').type('form').send({ token: 'x' });
      expect(noClient.status).toBe(401);
      expect(noClient.body.error).toBe('invalid_client');
      const noToken = await t.http().post('/oauth/revoke').type('form').send(REFRESH_CLIENT);
      expect(noToken.status).toBe(400);
      expect(noToken.body).toEqual({ error: 'invalid_request', error_description: 'The token parameter is required.' });
    });
  });

  describe('introspection (RFC 7662)', () => {
    function introspect(token: string) {
      return t.http().post('/oauth/introspect').auth('tv-app', CONFIDENTIAL_SECRET).type('form').send({ token });
    }

    it('describes an active access token and refresh token to a confidential client', async () => {
      const tokens = await tokensFor();
      const access = await introspect(tokens.access_token);
      expect(access.status).toBe(200);
      expect(access.body).toEqual({
        active: true,
        token_type: 'Bearer',
        sub: 'alice',
        client_id: 'refresh-cli',
        scope: 'read write',
        exp: Math.floor(t.clock.now() / 1000) + 3600,
      });
      const refreshed = await introspect(tokens.refresh_token!);
      expect(refreshed.body).toEqual({
        active: true,
        sub: 'alice',
        client_id: 'refresh-cli',
        scope: 'read write',
        iat: Math.floor(t.clock.now() / 1000),
        exp: Math.floor(t.clock.now() / 1000) + 30 * 24 * 3600,
      });
    });

    it('says active:false for revoked, expired and unknown tokens', async () => {
      const tokens = await tokensFor();
      await t.http().post('/oauth/revoke').type('form').send({ token: tokens.refresh_token, ...REFRESH_CLIENT });
      expect((await introspect(tokens.refresh_token!)).body).toEqual({ active: false });
      expect((await introspect('garbage')).body).toEqual({ active: false });
      t.clock.advance(3600 * 1000);
      expect((await introspect(tokens.access_token)).body).toEqual({ active: false });
    });

    it('refuses a public client', async () => {
      const res = await t.http().post('/oauth/introspect').type('form').send({ token: 'x', client_id: 'demo-cli' });
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: 'invalid_client', error_description: 'Introspection needs a confidential client.' });
    });
  });

  describe('the user is checked again when tokens are issued', () => {
    async function withAliceDisabled<T>(run: () => PromiseLike<T>): Promise<T> {
      const users = t.app.get<Map<string, string>>(DEMO_USERS);
      const password = users.get('alice')!;
      users.delete('alice');
      try {
        return await run();
      } finally {
        users.set('alice', password);
      }
    }

    it('a user disabled between approval and the first poll: invalid_grant, and the code is spent', async () => {
      const flow = await startFlow(t, { ...REFRESH_CLIENT, scope: 'read' });
      await decideViaPages(t, await signIn(t, 'alice'), flow.user_code, 'approve');
      const res = await withAliceDisabled(() => poll(t, flow.device_code, REFRESH_CLIENT));
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'invalid_grant', error_description: 'The user of this grant is no longer allowed to sign in.' });
      const [row] = await t.dataSource.query('SELECT status FROM device_codes');
      expect(row.status).toBe('consumed');
      expect(await refreshStatuses()).toEqual([]);
    });

    it('a user disabled before a refresh: invalid_grant, and the family is revoked', async () => {
      const tokens = await tokensFor();
      const res = await withAliceDisabled(() => refresh(tokens.refresh_token!));
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'invalid_grant', error_description: 'The user of this grant is no longer allowed to sign in.' });
      expect(await refreshStatuses()).toEqual(['revoked']);
    });
  });

  describe('DeviceAuthGuard on host routes', () => {
    const touch = (token?: string) => {
      const req = t.http().post('/api/me/touch');
      return token ? req.set('Authorization', `Bearer ${token}`) : req;
    };

    it('a token for read calling a route that needs write: 403 insufficient_scope', async () => {
      const tokens = await tokensFor('read');
      const res = await touch(tokens.access_token);
      expect(res.status).toBe(403);
      expect(res.body).toEqual({ error: 'insufficient_scope', error_description: 'This needs the scope: write.' });
      expect(res.headers['www-authenticate']).toBe(
        'Bearer realm="device-auth", error="insufficient_scope", error_description="This needs the scope: write.", scope="write"',
      );
      const writer = await tokensFor('read write');
      expect((await touch(writer.access_token)).body).toEqual({ user: 'alice', touched: true });
    });

    const NO_BEARER = { error: 'invalid_token', error_description: 'A bearer access token is required.' };

    it('no token: 401 with a bare Bearer challenge', async () => {
      const res = await touch();
      expect(res.status).toBe(401);
      expect(res.body).toEqual(NO_BEARER);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="device-auth"');
    });

    it('another scheme carries no bearer credentials: 401 with the same bare challenge as no token', async () => {
      const tokens = await tokensFor('read');
      for (const authorization of ['Basic abc', `Basic ${Buffer.from('refresh-cli:').toString('base64')}`, `Token ${tokens.access_token}`, `Bearerx ${tokens.access_token}`]) {
        const res = await t.http().get('/api/me').set('Authorization', authorization);
        expect({ authorization, status: res.status, body: res.body, challenge: res.headers['www-authenticate'] }).toEqual({
          authorization,
          status: 401,
          body: NO_BEARER,
          challenge: 'Bearer realm="device-auth"',
        });
      }
    });

    it('a malformed Bearer header (no token, or not one token68): 400 invalid_request', async () => {
      const tokens = await tokensFor('read');
      const description = 'The Authorization header is not a well-formed bearer token.';
      for (const authorization of ['Bearer ', 'Bearer', 'bearer  ', `Bearer ${tokens.access_token} extra`, 'Bearer a,b']) {
        const res = await t.http().get('/api/me').set('Authorization', authorization);
        expect({ authorization, status: res.status, body: res.body, challenge: res.headers['www-authenticate'] }).toEqual({
          authorization,
          status: 400,
          body: { error: 'invalid_request', error_description: description },
          challenge: `Bearer realm="device-auth", error="invalid_request", error_description="${description}"`,
        });
      }
      // The same token, well formed, passes: the refusals above are the header's shape.
      expect((await t.http().get('/api/me').set('Authorization', `bearer ${tokens.access_token}`)).status).toBe(200);
    });

    async function expectInvalidToken(token: string): Promise<void> {
      const res = await t.http().get('/api/me').set('Authorization', `Bearer ${token}`);
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: 'invalid_token', error_description: 'The access token is invalid or expired.' });
      expect(res.headers['www-authenticate']).toBe(
        'Bearer realm="device-auth", error="invalid_token", error_description="The access token is invalid or expired."',
      );
    }

    /** A token like the server's, signed with `key`, with some claims changed. */
    async function forge(key: JsonWebKey, kid: string, claims: Record<string, unknown> = {}): Promise<string> {
      const now = Math.floor(t.clock.now() / 1000);
      return new SignJWT({ client_id: 'refresh-cli', scope: 'read', ...claims })
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid })
        .setIssuer((claims.iss as string) ?? issuer)
        .setSubject('alice')
        .setAudience((claims.aud as string) ?? issuer)
        .setJti(randomUUID())
        .setIssuedAt(now)
        .setExpirationTime(now + 600)
        .sign(await importJWK(key, 'ES256'));
    }

    it('a token signed by another key, expired, or with another aud or iss: 401 invalid_token', async () => {
      const tokens = await tokensFor('read');
      const { kid } = JSON.parse(Buffer.from(tokens.access_token.split('.')[0], 'base64url').toString());
      const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
      await expectInvalidToken(await forge(otherKey, kid));
      await expectInvalidToken(await forge(serverKey(), kid, { aud: 'https://another-api.example' }));
      await expectInvalidToken(await forge(serverKey(), kid, { iss: 'https://another-issuer.example' }));
      // The same key and claims pass, so the failures above are the changed claim's doing.
      expect((await t.http().get('/api/me').set('Authorization', `Bearer ${await forge(serverKey(), kid)}`)).status).toBe(200);
      t.clock.advance(3600 * 1000);
      await expectInvalidToken(tokens.access_token);
    });

    it('a resource server elsewhere verifies tokens with the published JWKS', async () => {
      const tokens = await tokensFor('read');
      const metadata = (await (await fetch(`${issuer}/.well-known/oauth-authorization-server`)).json()) as Record<string, string>;
      expect(metadata.jwks_uri).toBe(`${issuer}/.well-known/jwks.json`);
      expect(metadata.revocation_endpoint).toBe(`${issuer}/oauth/revoke`);
      expect(metadata.introspection_endpoint).toBe(`${issuer}/oauth/introspect`);
      const jwks = createRemoteJWKSet(new URL(metadata.jwks_uri));
      const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, {
        issuer,
        audience: issuer,
        typ: 'at+jwt',
        currentDate: new Date(t.clock.now()),
      });
      expect(protectedHeader.alg).toBe('ES256');
      expect(payload).toEqual({
        iss: issuer,
        sub: 'alice',
        aud: issuer,
        client_id: 'refresh-cli',
        scope: 'read',
        jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
        iat: Math.floor(t.clock.now() / 1000),
        exp: Math.floor(t.clock.now() / 1000) + 3600,
      });
    });
  });
});
