import { createPrivateKey, createPublicKey, JsonWebKey, KeyObject, randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, JWK, jwtVerify, SignJWT } from 'jose';
import { IssuedTokens, TokenGrant, TokenIssuer, VerifiedAccessToken } from './token-issuer.interface';

/** A private key as PEM (PKCS#8 or SEC1/PKCS#1) or as a JWK; `kid` defaults to its thumbprint. */
export interface SigningKeyInput {
  privateKey: string | JsonWebKey;
  kid?: string;
}

export interface JwtTokenIssuerOptions {
  issuer: string;
  audience: string;
  accessTokenTtlSeconds: number;
  signingKeys: SigningKeyInput[];
  now: () => number;
}

interface LoadedKey {
  kid: string;
  alg: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicJwk: JWK;
}

/**
 * The default issuer: RFC 9068 JWT access tokens (`typ: at+jwt`) signed with the first key;
 * every key's public half is published so tokens signed before a rotation still verify.
 */
export class JwtTokenIssuer implements TokenIssuer {
  private keys?: Promise<LoadedKey[]>;

  constructor(private readonly options: JwtTokenIssuerOptions) {}

  async issue(grant: TokenGrant): Promise<IssuedTokens> {
    const [key] = await this.loadKeys();
    const iat = Math.floor(this.options.now() / 1000);
    const ttl = this.options.accessTokenTtlSeconds;
    const accessToken = await new SignJWT({ client_id: grant.clientId, scope: grant.scope })
      .setProtectedHeader({ alg: key.alg, typ: 'at+jwt', kid: key.kid })
      .setIssuer(this.options.issuer)
      .setSubject(grant.userId)
      .setAudience(this.options.audience)
      .setJti(randomUUID())
      .setIssuedAt(iat)
      .setExpirationTime(iat + ttl)
      .sign(key.privateKey);
    return { access_token: accessToken, token_type: 'Bearer', expires_in: ttl, scope: grant.scope };
  }

  async verify(accessToken: string): Promise<VerifiedAccessToken> {
    const keys = await this.loadKeys();
    const { payload } = await jwtVerify(
      accessToken,
      (header) => {
        const key = keys.find((k) => k.kid === header.kid);
        if (!key) throw new Error('unknown key');
        return key.publicKey;
      },
      {
        issuer: this.options.issuer,
        audience: this.options.audience,
        typ: 'at+jwt',
        // RFC 9068 §2.2: these are required; a token without them is not ours, whatever signed it.
        requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id'],
        algorithms: [...new Set(keys.map((k) => k.alg))],
        currentDate: new Date(this.options.now()),
      },
    );
    if (typeof payload.sub !== 'string' || typeof payload.client_id !== 'string' || typeof payload.scope !== 'string') {
      throw new Error('access token lacks sub, client_id or scope');
    }
    return { sub: payload.sub, client_id: payload.client_id, scope: payload.scope, exp: payload.exp as number };
  }

  async jwks(): Promise<{ keys: object[] }> {
    return { keys: (await this.loadKeys()).map((k) => k.publicJwk) };
  }

  private loadKeys(): Promise<LoadedKey[]> {
    this.keys ??= Promise.all(this.options.signingKeys.map(loadKey));
    return this.keys;
  }
}

async function loadKey(input: SigningKeyInput): Promise<LoadedKey> {
  const privateKey =
    typeof input.privateKey === 'string'
      ? createPrivateKey(input.privateKey)
      : createPrivateKey({ key: input.privateKey, format: 'jwk' });
  const publicKey = createPublicKey(privateKey);
  const alg = algorithmFor(privateKey);
  const exported = publicKey.export({ format: 'jwk' }) as JWK;
  const kid = input.kid ?? (await calculateJwkThumbprint(exported));
  return { kid, alg, privateKey, publicKey, publicJwk: { ...exported, kid, alg, use: 'sig' } };
}

function algorithmFor(key: KeyObject): string {
  const details = key.asymmetricKeyDetails;
  switch (key.asymmetricKeyType) {
    case 'ec':
      if (details?.namedCurve === 'prime256v1') return 'ES256';
      if (details?.namedCurve === 'secp384r1') return 'ES384';
      break;
    case 'rsa':
      return 'RS256';
    case 'ed25519':
      return 'EdDSA';
  }
  throw new Error('Signing keys must be EC P-256 (ES256), EC P-384 (ES384), RSA (RS256) or Ed25519 (EdDSA).');
}
