import { authenticateClient, ClientCredentialParams } from '../../src/clients/client-authenticator';
import { StaticClientRegistry } from '../../src/clients/static-client.registry';
import { sha256Hex } from '../../src/codes/device-code';
import { InvalidClientError, InvalidRequestError, OAuthError } from '../../src/oauth/oauth.errors';

const SECRET = 'confidential-secret-0123456789';
const SPECIAL_ID = 'tv:app%1 +ü';
const SPECIAL_SECRET = 'p@ss:w%rd+/=& é:%41';
const PCT_SECRET = 'per%41cent-secret+xyz';
const HASHED_SECRET = 'hashed-secret-abcdefghijklmnop';

const registry = new StaticClientRegistry([
  { clientId: 'public-cli', name: 'Public CLI', scopes: ['read', 'write'] },
  { clientId: 'tv', name: 'TV', scopes: ['read'], secret: SECRET },
  { clientId: SPECIAL_ID, name: 'Special', scopes: ['read'], secret: SPECIAL_SECRET },
  { clientId: 'pct', name: 'Percent', scopes: ['read'], secret: PCT_SECRET },
  { clientId: 'hashed', name: 'Hashed', scopes: ['read'], secretSha256: sha256Hex(HASHED_SECRET).toUpperCase() },
]);

const CHALLENGE = 'Basic realm="device-auth", charset="UTF-8"';

/** RFC 6749 §2.3.1: id and secret are form-urlencoded before being joined and base64-encoded. */
function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}
function basic(id: string, secret: string, encode = true): string {
  const raw = encode ? `${formEncode(id)}:${formEncode(secret)}` : `${id}:${secret}`;
  return `Basic ${Buffer.from(raw, 'utf8').toString('base64')}`;
}

async function failure(authorization: string | undefined, params: ClientCredentialParams): Promise<OAuthError> {
  try {
    await authenticateClient(registry, authorization, params);
  } catch (error) {
    return error as OAuthError;
  }
  throw new Error('authentication succeeded');
}

async function expectInvalidClient(authorization: string | undefined, params: ClientCredentialParams, challenged: boolean) {
  const error = await failure(authorization, params);
  expect(error).toBeInstanceOf(InvalidClientError);
  expect(error.error).toBe('invalid_client');
  expect(error.status).toBe(401);
  if (challenged) expect(error.headers).toEqual({ 'WWW-Authenticate': CHALLENGE });
  else {
    expect(error.headers).toEqual({});
    expect(error.headers['WWW-Authenticate']).toBeUndefined();
  }
  return error;
}

async function expectInvalidRequest(authorization: string | undefined, params: ClientCredentialParams) {
  const error = await failure(authorization, params);
  expect(error).toBeInstanceOf(InvalidRequestError);
  expect(error.error).toBe('invalid_request');
  expect(error.status).toBe(400);
  return error;
}

describe('StaticClientRegistry', () => {
  it('keeps only a hash of the secret and fills default scopes', async () => {
    const tv = await registry.findClient('tv');
    expect(tv).toEqual({ clientId: 'tv', name: 'TV', scopes: ['read'], defaultScopes: ['read'], secretHash: sha256Hex(SECRET), refreshTokens: false });
    expect(JSON.stringify(tv)).not.toContain(SECRET);
  });

  it('a public client has no secret hash', async () => {
    expect((await registry.findClient('public-cli'))?.secretHash).toBeUndefined();
  });

  it('lower-cases a configured secretSha256', async () => {
    expect((await registry.findClient('hashed'))?.secretHash).toBe(sha256Hex(HASHED_SECRET));
  });

  it('answers null for an unknown client, including prototype names', async () => {
    expect(await registry.findClient('nobody')).toBeNull();
    expect(await registry.findClient('__proto__')).toBeNull();
    expect(await registry.findClient('constructor')).toBeNull();
  });
});

describe('authenticateClient', () => {
  describe('public client', () => {
    it('is identified by client_id alone', async () => {
      const client = await authenticateClient(registry, undefined, { client_id: 'public-cli' });
      expect(client.clientId).toBe('public-cli');
    });

    it('ignores an Authorization header of another scheme', async () => {
      const client = await authenticateClient(registry, 'Bearer abc.def', { client_id: 'public-cli' });
      expect(client.clientId).toBe('public-cli');
    });

    it('sending a secret in the body is invalid_client, unchallenged', async () => {
      const error = await expectInvalidClient(undefined, { client_id: 'public-cli', client_secret: 'anything-at-all' }, false);
      expect(error.description).toBe('This is a public client: send client_id without a secret.');
    });

    it('sending a secret by Basic is invalid_client, challenged', async () => {
      await expectInvalidClient(basic('public-cli', 'anything-at-all'), {}, true);
    });

    it('an empty secret by Basic is no secret, as an empty client_secret in the body is', async () => {
      expect((await authenticateClient(registry, basic('public-cli', ''), {})).clientId).toBe('public-cli');
      expect((await authenticateClient(registry, basic('public-cli', ''), { client_id: 'public-cli' })).clientId).toBe('public-cli');
    });
  });

  describe('confidential client', () => {
    it('authenticates with client_secret_basic', async () => {
      expect((await authenticateClient(registry, basic('tv', SECRET), {})).clientId).toBe('tv');
    });

    it('authenticates with client_secret_basic when the body repeats the same client_id', async () => {
      expect((await authenticateClient(registry, basic('tv', SECRET), { client_id: 'tv' })).clientId).toBe('tv');
    });

    it('accepts the scheme name in any case', async () => {
      const header = basic('tv', SECRET).replace('Basic', 'bAsIc');
      expect((await authenticateClient(registry, header, {})).clientId).toBe('tv');
    });

    it('decodes RFC 6749 form-urlencoded id and secret (":", "%", "+", "/", "=", "&", non-ASCII)', async () => {
      const header = basic(SPECIAL_ID, SPECIAL_SECRET);
      expect(Buffer.from(header.slice(6), 'base64').toString()).toBe(`${formEncode(SPECIAL_ID)}:${formEncode(SPECIAL_SECRET)}`);
      expect((await authenticateClient(registry, header, {})).clientId).toBe(SPECIAL_ID);
    });

    it('decodes %20 as well as + for a space', async () => {
      const raw = `${encodeURIComponent(SPECIAL_ID)}:${encodeURIComponent(SPECIAL_SECRET)}`;
      expect(raw).toContain('%20');
      const header = `Basic ${Buffer.from(raw).toString('base64')}`;
      expect((await authenticateClient(registry, header, {})).clientId).toBe(SPECIAL_ID);
    });

    it('splits at the first ":" so an unencoded ":" in the secret still works', async () => {
      const registryWithColon = new StaticClientRegistry([{ clientId: 'c', name: 'C', scopes: ['read'], secret: 'abc:def:ghijklmnop' }]);
      const header = `Basic ${Buffer.from('c:abc:def:ghijklmnop').toString('base64')}`;
      expect((await authenticateClient(registryWithColon, header, {})).clientId).toBe('c');
    });

    it('a secret with "%" or "+" must be urlencoded in Basic (RFC 6749 §2.3.1)', async () => {
      expect((await authenticateClient(registry, basic('pct', PCT_SECRET), {})).clientId).toBe('pct');
      // Unencoded, "%41" decodes to "A" and "+" to a space: not the secret.
      const error = await expectInvalidClient(basic('pct', PCT_SECRET, false), {}, true);
      expect(error.description).toBe('Client authentication failed.');
    });

    it('authenticates with client_secret_post', async () => {
      expect((await authenticateClient(registry, undefined, { client_id: 'tv', client_secret: SECRET })).clientId).toBe('tv');
      expect((await authenticateClient(registry, undefined, { client_id: SPECIAL_ID, client_secret: SPECIAL_SECRET })).clientId).toBe(
        SPECIAL_ID,
      );
    });

    it('authenticates against a configured secretSha256', async () => {
      expect((await authenticateClient(registry, basic('hashed', HASHED_SECRET), {})).clientId).toBe('hashed');
      expect((await authenticateClient(registry, undefined, { client_id: 'hashed', client_secret: HASHED_SECRET })).clientId).toBe(
        'hashed',
      );
      await expectInvalidClient(undefined, { client_id: 'hashed', client_secret: sha256Hex(HASHED_SECRET) }, false);
    });

    it('a wrong secret by Basic is invalid_client (401) with WWW-Authenticate', async () => {
      const error = await expectInvalidClient(basic('tv', `${SECRET}x`), {}, true);
      expect(error.description).toBe('Client authentication failed.');
    });

    it('a wrong secret by post is invalid_client (401) without WWW-Authenticate', async () => {
      const error = await expectInvalidClient(undefined, { client_id: 'tv', client_secret: SECRET.slice(0, -1) }, false);
      expect(error.description).toBe('Client authentication failed.');
    });

    it('the secret is case-sensitive', async () => {
      await expectInvalidClient(undefined, { client_id: 'tv', client_secret: SECRET.toUpperCase() }, false);
    });

    it('a missing secret is invalid_client', async () => {
      await expectInvalidClient(undefined, { client_id: 'tv' }, false);
    });

    it('an empty secret by Basic is invalid_client, challenged', async () => {
      await expectInvalidClient(`Basic ${Buffer.from('tv:').toString('base64')}`, {}, true);
    });
  });

  describe('request shape', () => {
    it('Basic and client_secret together are invalid_request', async () => {
      const error = await expectInvalidRequest(basic('tv', SECRET), { client_secret: SECRET });
      expect(error.description).toBe('Use one client authentication method: HTTP Basic or client_secret in the body, not both.');
      await expectInvalidRequest(basic('tv', SECRET), { client_id: 'tv', client_secret: SECRET });
    });

    it('a client_id in the body that differs from Basic is invalid_request', async () => {
      const error = await expectInvalidRequest(basic('tv', SECRET), { client_id: 'public-cli' });
      expect(error.description).toBe('The client_id in the body differs from the one in the Authorization header.');
    });

    it.each([
      ['no credentials', 'Basic'],
      ['only spaces', 'Basic    '],
      ['not base64', 'Basic !!!notbase64!!!'],
      ['no colon', `Basic ${Buffer.from('tv').toString('base64')}`],
      ['empty client id', `Basic ${Buffer.from(`:${SECRET}`).toString('base64')}`],
      ['bad percent-escape', `Basic ${Buffer.from(`tv:${SECRET}%zz`).toString('base64')}`],
      ['two credentials', `Basic ${Buffer.from(`tv:${SECRET}`).toString('base64')} ${Buffer.from('x:y').toString('base64')}`],
    ])('malformed Basic (%s) is invalid_client with a challenge', async (_case, header) => {
      const error = await expectInvalidClient(header, {}, true);
      expect(error.description).toBe('The Authorization header is not valid HTTP Basic credentials.');
    });

    it('an unknown client is invalid_client', async () => {
      const byPost = await expectInvalidClient(undefined, { client_id: 'nobody' }, false);
      expect(byPost.description).toBe('Client authentication failed.');
      await expectInvalidClient(undefined, { client_id: 'nobody', client_secret: SECRET }, false);
      await expectInvalidClient(basic('nobody', SECRET), {}, true);
    });

    it('no client_id at all is invalid_client', async () => {
      const error = await expectInvalidClient(undefined, {}, false);
      expect(error.description).toBe('No client authentication was included: send client_id.');
      await expectInvalidClient(undefined, { client_secret: SECRET }, false);
      await expectInvalidClient('Bearer xyz', {}, false);
    });

    it('client ids are case-sensitive', async () => {
      await expectInvalidClient(undefined, { client_id: 'PUBLIC-CLI' }, false);
    });
  });
});
