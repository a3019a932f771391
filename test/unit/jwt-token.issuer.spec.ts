import { generateKeyPairSync, JsonWebKey, KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, decodeJwt, decodeProtectedHeader, JWK, SignJWT } from 'jose';
import { DeviceAuthOptionsError } from '../../src/device-auth.options';
import { JwtTokenIssuer, JwtTokenIssuerOptions, SigningKeyInput } from '../../src/token/jwt-token.issuer';

const NOW = Date.UTC(2026, 11, 3, 12, 0, 0);
const NOW_S = NOW / 1000;
const ISSUER = 'https://auth.example.com';
const AUDIENCE = 'https://api.example.com';
const GRANT = { userId: 'alice', clientId: 'demo-cli', scope: 'read write' };

const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const p256Other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ed25519 = generateKeyPairSync('ed25519');

const pkcs8 = (key: KeyObject) => key.export({ format: 'pem', type: 'pkcs8' }) as string;
const jwk = (key: KeyObject) => key.export({ format: 'jwk' }) as JsonWebKey;

function makeIssuer(signingKeys: SigningKeyInput[], overrides: Partial<JwtTokenIssuerOptions> = {}): JwtTokenIssuer {
  return new JwtTokenIssuer({ issuer: ISSUER, audience: AUDIENCE, accessTokenTtlSeconds: 3600, signingKeys, now: () => NOW, ...overrides });
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

describe('JwtTokenIssuer with a P-256 key', () => {
  describe.each([
    ['JWK', { privateKey: jwk(p256.privateKey) }],
    ['PKCS#8 PEM', { privateKey: pkcs8(p256.privateKey) }],
    ['SEC1 PEM', { privateKey: p256.privateKey.export({ format: 'pem', type: 'sec1' }) as string }],
  ])('given as %s', (_form, key: SigningKeyInput) => {
    it('issues an RFC 9068 access token', async () => {
      const issuer = makeIssuer([key]);
      const tokens = await issuer.issue(GRANT);
      expect(tokens).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, scope: 'read write' });
      expect(Object.keys(tokens).sort()).toEqual(['access_token', 'expires_in', 'scope', 'token_type']);

      const thumbprint = await calculateJwkThumbprint(jwk(p256.publicKey) as JWK);
      expect(decodeProtectedHeader(tokens.access_token)).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: thumbprint });

      const payload = decodeJwt(tokens.access_token);
      expect(payload).toEqual({
        iss: ISSUER,
        sub: 'alice',
        aud: AUDIENCE,
        client_id: 'demo-cli',
        scope: 'read write',
        jti: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
        iat: NOW_S,
        exp: NOW_S + 3600,
      });
    });

    it('verifies what it issued', async () => {
      const issuer = makeIssuer([key]);
      const { access_token } = await issuer.issue(GRANT);
      await expect(issuer.verify(access_token)).resolves.toEqual({ sub: 'alice', client_id: 'demo-cli', scope: 'read write', exp: NOW_S + 3600 });
    });
  });

  it('gives every token its own jti', async () => {
    const issuer = makeIssuer([{ privateKey: jwk(p256.privateKey) }]);
    const jtis = new Set<unknown>();
    for (let i = 0; i < 20; i++) jtis.add(decodeJwt((await issuer.issue(GRANT)).access_token).jti);
    expect(jtis.size).toBe(20);
  });

  it('sets exp = iat + ttl, with iat in whole seconds', async () => {
    const issuer = makeIssuer([{ privateKey: pkcs8(p256.privateKey) }], { accessTokenTtlSeconds: 120, now: () => NOW + 999 });
    const tokens = await issuer.issue(GRANT);
    const payload = decodeJwt(tokens.access_token);
    expect(payload.iat).toBe(NOW_S);
    expect(payload.exp).toBe(NOW_S + 120);
    expect(tokens.expires_in).toBe(120);
  });

  it('uses the configured kid', async () => {
    const issuer = makeIssuer([{ privateKey: pkcs8(p256.privateKey), kid: 'key-2026' }]);
    const { access_token } = await issuer.issue(GRANT);
    expect(decodeProtectedHeader(access_token).kid).toBe('key-2026');
    expect((await issuer.jwks()).keys).toEqual([expect.objectContaining({ kid: 'key-2026' })]);
    await expect(issuer.verify(access_token)).resolves.toMatchObject({ sub: 'alice' });
  });

  it('rejects a token signed by another key', async () => {
    const issuer = makeIssuer([{ privateKey: pkcs8(p256.privateKey) }]);
    const { access_token } = await makeIssuer([{ privateKey: pkcs8(p256Other.privateKey) }]).issue(GRANT);
    await expect(issuer.verify(access_token)).rejects.toThrow();
  });

  it('rejects a token signed by another key under the same kid', async () => {
    const issuer = makeIssuer([{ privateKey: pkcs8(p256.privateKey), kid: 'k1' }]);
    const { access_token } = await makeIssuer([{ privateKey: pkcs8(p256Other.privateKey), kid: 'k1' }]).issue(GRANT);
    await expect(issuer.verify(access_token)).rejects.toThrow();
  });

  it('rejects an expired token: valid up to exp, expired from it', async () => {
    let now = NOW;
    const issuer = makeIssuer([{ privateKey: pkcs8(p256.privateKey) }], { accessTokenTtlSeconds: 60, now: () => now });
    const { access_token } = await issuer.issue(GRANT);
    now = NOW + 59_999;
    await expect(issuer.verify(access_token)).resolves.toMatchObject({ exp: NOW_S + 60 });
    now = NOW + 60_000;
    await expect(issuer.verify(access_token)).rejects.toThrow();
    now = NOW + 3_600_000;
    await expect(issuer.verify(access_token)).rejects.toThrow();
  });

  it('rejects a token for another audience', async () => {
    const key = { privateKey: pkcs8(p256.privateKey) };
    const { access_token } = await makeIssuer([key], { audience: 'https://other.example.com' }).issue(GRANT);
    await expect(makeIssuer([key]).verify(access_token)).rejects.toThrow();
  });

  it('rejects a token from another issuer', async () => {
    const key = { privateKey: pkcs8(p256.privateKey) };
    const { access_token } = await makeIssuer([key], { issuer: 'https://evil.example.com' }).issue(GRANT);
    await expect(makeIssuer([key]).verify(access_token)).rejects.toThrow();
  });

  it('rejects a token signed with the right key but not typed at+jwt', async () => {
    const issuer = makeIssuer([{ privateKey: pkcs8(p256.privateKey), kid: 'k1' }]);
    const token = await new SignJWT({ client_id: 'demo-cli', scope: 'read' })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: 'k1' })
      .setIssuer(ISSUER)
      .setSubject('alice')
      .setAudience(AUDIENCE)
      .setIssuedAt(NOW_S)
      .setExpirationTime(NOW_S + 60)
      .sign(p256.privateKey);
    await expect(issuer.verify(token)).rejects.toThrow();
  });

  it('rejects a token without client_id or scope', async () => {
    const issuer = makeIssuer([{ privateKey: pkcs8(p256.privateKey), kid: 'k1' }]);
    const token = await new SignJWT({ client_id: 'demo-cli' })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' })
      .setIssuer(ISSUER)
      .setSubject('alice')
      .setAudience(AUDIENCE)
      .setJti('j1')
      .setIssuedAt(NOW_S)
      .setExpirationTime(NOW_S + 60)
      .sign(p256.privateKey);
    await expect(issuer.verify(token)).rejects.toThrow('access token lacks sub, client_id or scope');
  });

  it('rejects a token without exp or jti, which RFC 9068 requires', async () => {
    const issuer = makeIssuer([{ privateKey: pkcs8(p256.privateKey), kid: 'k1' }]);
    const base = () =>
      new SignJWT({ client_id: 'demo-cli', scope: 'read' })
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' })
        .setIssuer(ISSUER)
        .setSubject('alice')
        .setAudience(AUDIENCE)
        .setIssuedAt(NOW_S);
    await expect(issuer.verify(await base().setJti('j1').sign(p256.privateKey))).rejects.toThrow('missing required "exp" claim');
    await expect(issuer.verify(await base().setExpirationTime(NOW_S + 60).sign(p256.privateKey))).rejects.toThrow('missing required "jti" claim');
    await expect(issuer.verify(await base().setJti('j1').setExpirationTime(NOW_S + 60).sign(p256.privateKey))).resolves.toMatchObject({ sub: 'alice' });
  });

  it('rejects a tampered payload and garbage', async () => {
    const issuer = makeIssuer([{ privateKey: pkcs8(p256.privateKey) }]);
    const [header, , signature] = (await issuer.issue(GRANT)).access_token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...decodeJwt((await issuer.issue(GRANT)).access_token), sub: 'admin' })).toString('base64url');
    await expect(issuer.verify(`${header}.${forged}.${signature}`)).rejects.toThrow();
    await expect(issuer.verify('not-a-jwt')).rejects.toThrow();
    await expect(issuer.verify('')).rejects.toThrow();
  });

  it('jwks() publishes only the public members', async () => {
    const issuer = makeIssuer([{ privateKey: jwk(p256.privateKey) }]);
    const { keys } = await issuer.jwks();
    expect(keys).toHaveLength(1);
    const pub = jwk(p256.publicKey);
    expect(keys[0]).toEqual({
      kty: 'EC',
      crv: 'P-256',
      x: pub.x,
      y: pub.y,
      kid: await calculateJwkThumbprint(pub as JWK),
      alg: 'ES256',
      use: 'sig',
    });
    for (const member of PRIVATE_MEMBERS) expect(keys[0]).not.toHaveProperty(member);
  });
});

describe('JwtTokenIssuer key rotation', () => {
  it('signs with the first key and still verifies tokens of the others', async () => {
    const older = { privateKey: pkcs8(p256Other.privateKey), kid: 'old' };
    const newer = { privateKey: pkcs8(p256.privateKey), kid: 'new' };
    const oldToken = (await makeIssuer([older]).issue(GRANT)).access_token;

    const rotated = makeIssuer([newer, older]);
    const newToken = (await rotated.issue(GRANT)).access_token;
    expect(decodeProtectedHeader(newToken).kid).toBe('new');
    await expect(rotated.verify(newToken)).resolves.toMatchObject({ sub: 'alice' });
    await expect(rotated.verify(oldToken)).resolves.toMatchObject({ sub: 'alice' });
    expect((await rotated.jwks()).keys.map((k) => (k as { kid: string }).kid)).toEqual(['new', 'old']);
  });
});

describe('JwtTokenIssuer algorithm per key type', () => {
  it.each([
    ['RSA', rsa, 'RS256', 'RSA'],
    ['Ed25519', ed25519, 'EdDSA', 'OKP'],
    ['P-384', p384, 'ES384', 'EC'],
  ])('%s key signs with its algorithm and verifies', async (_type, pair, alg, kty) => {
    for (const privateKey of [pkcs8(pair.privateKey), jwk(pair.privateKey)]) {
      const issuer = makeIssuer([{ privateKey }]);
      const { access_token } = await issuer.issue(GRANT);
      expect(decodeProtectedHeader(access_token)).toEqual({ alg, typ: 'at+jwt', kid: await calculateJwkThumbprint(jwk(pair.publicKey) as JWK) });
      await expect(issuer.verify(access_token)).resolves.toMatchObject({ sub: 'alice', client_id: 'demo-cli', scope: 'read write' });
      const { keys } = await issuer.jwks();
      expect(keys[0]).toMatchObject({ kty, alg, use: 'sig' });
      for (const member of PRIVATE_MEMBERS) expect(keys[0]).not.toHaveProperty(member);
    }
  });

  it('an RSA JWKS entry carries n and e only', async () => {
    const { keys } = await makeIssuer([{ privateKey: pkcs8(rsa.privateKey) }]).jwks();
    const pub = jwk(rsa.publicKey);
    expect(keys[0]).toEqual({ kty: 'RSA', n: pub.n, e: pub.e, kid: expect.any(String), alg: 'RS256', use: 'sig' });
  });

  it('does not accept an ES256 token when only an RSA key is configured', async () => {
    const ecToken = (await makeIssuer([{ privateKey: pkcs8(p256.privateKey), kid: 'k' }]).issue(GRANT)).access_token;
    await expect(makeIssuer([{ privateKey: pkcs8(rsa.privateKey), kid: 'k' }]).verify(ecToken)).rejects.toThrow();
  });

  it.each([
    ['P-521', generateKeyPairSync('ec', { namedCurve: 'P-521' }).privateKey, 'EC P-521'],
    ['secp256k1', generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey, 'EC secp256k1'],
    ['Ed448', generateKeyPairSync('ed448').privateKey, 'ED448'],
  ])('refuses an unsupported %s key at construction, saying what is supported', (_type, key, named) => {
    expect(() => makeIssuer([{ privateKey: pkcs8(key) }])).toThrow(
      `DeviceAuthModule options: signingKeys[0].privateKey is a key of type ${named}; signing keys must be EC P-256 (ES256), EC P-384 (ES384), RSA (RS256) or Ed25519 (EdDSA).`,
    );
  });
});

describe('JwtTokenIssuer checks every key when it is made', () => {
  const good = { privateKey: pkcs8(p256.privateKey) };
  const NOT_A_KEY = 'is not a PEM or JWK private key (EC P-256/P-384, RSA or Ed25519).';

  /** The error the constructor throws, so the test sees its class and exact message. */
  function constructionError(signingKeys: unknown): unknown {
    try {
      makeIssuer(signingKeys as SigningKeyInput[]);
    } catch (error) {
      return error;
    }
    throw new Error('the issuer was made');
  }

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['a number', 42],
    ['garbage text', 'garbage'],
    ['an empty string', ''],
    ['a truncated PEM', pkcs8(p256.privateKey).slice(0, 120)],
    ['a JWK whose x is not on the curve', { ...jwk(p256.privateKey), x: 'AAAA' }],
    ['a symmetric JWK', { kty: 'oct', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0' }],
    ['an empty object', {}],
  ])('privateKey %s: DeviceAuthOptionsError naming the key', (_case, privateKey) => {
    // The second key is the bad one, so the index in the message is checked too.
    const error = constructionError([good, { privateKey }]);
    expect(error).toBeInstanceOf(DeviceAuthOptionsError);
    expect((error as Error).message).toBe(`DeviceAuthModule options: signingKeys[1].privateKey ${NOT_A_KEY}`);
  });

  it('a public key where the private one belongs is named as such, as PEM and as JWK', () => {
    const message = 'DeviceAuthModule options: signingKeys[0].privateKey is a public key; give the private key (PEM or JWK).';
    for (const publicKey of [p256.publicKey.export({ format: 'pem', type: 'spki' }) as string, jwk(p256.publicKey)]) {
      const error = constructionError([{ privateKey: publicKey }]);
      expect(error).toBeInstanceOf(DeviceAuthOptionsError);
      expect((error as Error).message).toBe(message);
    }
  });

  it('an RSA key shorter than 2048 bits, which jose would refuse to sign with', () => {
    const short = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    expect((constructionError([{ privateKey: pkcs8(short) }]) as Error).message).toBe(
      'DeviceAuthModule options: signingKeys[0].privateKey is a 1024-bit RSA key; RS256 needs 2048 bits or more.',
    );
  });

  it.each([
    ['not an array', 'garbage', 'signingKeys must list at least one key.'],
    ['empty', [], 'signingKeys must list at least one key.'],
    ['an entry that is not an object', [good, 'garbage'], 'signingKeys[1] must be an object { privateKey, kid? }.'],
    ['an empty kid', [{ ...good, kid: '' }], 'signingKeys[0].kid must be a non-empty string.'],
    ['a kid that is not a string', [{ ...good, kid: 7 }], 'signingKeys[0].kid must be a non-empty string.'],
    ['the same kid twice', [{ ...good, kid: 'k1' }, { privateKey: jwk(p256Other.privateKey), kid: 'k1' }], 'signingKeys[1].kid "k1" is also signingKeys[0]\'s; each key needs its own kid.'],
  ])('signingKeys %s is refused', (_case, signingKeys, problem) => {
    const error = constructionError(signingKeys);
    expect(error).toBeInstanceOf(DeviceAuthOptionsError);
    expect((error as Error).message).toBe(`DeviceAuthModule options: ${problem}`);
  });
});
