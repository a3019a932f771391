import { createPrivateKey, createPublicKey, JsonWebKey, KeyObject, randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, JWK, jwtVerify, SignJWT } from 'jose';
import { DeviceAuthOptionsError } from '../device-auth.options';
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

/** A signing key as parsed from the options; its `kid` may still have to be computed. */
interface ParsedKey {
  kid?: string;
  alg: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

interface LoadedKey extends ParsedKey {
  kid: string;
  publicJwk: JWK;
}

const SUPPORTED_KEYS = 'EC P-256 (ES256), EC P-384 (ES384), RSA (RS256) or Ed25519 (EdDSA)';

/**
 * The default issuer: RFC 9068 JWT access tokens (`typ: at+jwt`) signed with the first key;
 * every key's public half is published so tokens signed before a rotation still verify.
 */
export class JwtTokenIssuer implements TokenIssuer {
  private readonly parsed: ParsedKey[];
  private keys?: Promise<LoadedKey[]>;

  /** Parses every key at once (a `DeviceAuthOptionsError` names a bad one), so boot fails, not the first request. */
  constructor(private readonly options: JwtTokenIssuerOptions) {
    this.parsed = parseSigningKeys(options.signingKeys);
  }

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

  /** The public JWKs, with each `kid` (the RFC 7638 thumbprint unless one was given); computed once. */
  private loadKeys(): Promise<LoadedKey[]> {
    this.keys ??= Promise.all(this.parsed.map(withPublicJwk));
    return this.keys;
  }
}

function parseSigningKeys(inputs: unknown): ParsedKey[] {
  if (!Array.isArray(inputs) || inputs.length === 0) throw new DeviceAuthOptionsError('signingKeys must list at least one key.');
  const kids = new Map<string, number>();
  return inputs.map((input: unknown, index) => {
    const key = parseSigningKey(input, `signingKeys[${index}]`);
    if (key.kid !== undefined) {
      const other = kids.get(key.kid);
      if (other !== undefined) throw new DeviceAuthOptionsError(`signingKeys[${index}].kid "${key.kid}" is also signingKeys[${other}]'s; each key needs its own kid.`);
      kids.set(key.kid, index);
    }
    return key;
  });
}

function parseSigningKey(input: unknown, name: string): ParsedKey {
  if (typeof input !== 'object' || input === null) throw new DeviceAuthOptionsError(`${name} must be an object { privateKey, kid? }.`);
  const { privateKey: given, kid } = input as { privateKey?: unknown; kid?: unknown };
  if (kid !== undefined && (typeof kid !== 'string' || kid === '')) throw new DeviceAuthOptionsError(`${name}.kid must be a non-empty string.`);
  const privateKey = privateKeyFrom(given, `${name}.privateKey`);
  return { ...(kid === undefined ? {} : { kid }), alg: algorithmFor(privateKey, `${name}.privateKey`), privateKey, publicKey: createPublicKey(privateKey) };
}

function privateKeyFrom(given: unknown, name: string): KeyObject {
  const source = typeof given === 'string' ? given : typeof given === 'object' && given !== null ? { key: given as JsonWebKey, format: 'jwk' as const } : undefined;
  if (source !== undefined) {
    try {
      return createPrivateKey(source);
    } catch {
      // Not a private key; a public one is a common slip worth naming.
      if (isPublicKey(source)) throw new DeviceAuthOptionsError(`${name} is a public key; give the private key (PEM or JWK).`);
    }
  }
  throw new DeviceAuthOptionsError(`${name} is not a PEM or JWK private key (EC P-256/P-384, RSA or Ed25519).`);
}

function isPublicKey(source: Parameters<typeof createPublicKey>[0]): boolean {
  try {
    createPublicKey(source);
    return true;
  } catch {
    return false;
  }
}

async function withPublicJwk(key: ParsedKey): Promise<LoadedKey> {
  const exported = key.publicKey.export({ format: 'jwk' }) as JWK;
  const kid = key.kid ?? (await calculateJwkThumbprint(exported));
  return { ...key, kid, publicJwk: { ...exported, kid, alg: key.alg, use: 'sig' } };
}

const CURVE_NAMES: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

function algorithmFor(key: KeyObject, name: string): string {
  const details = key.asymmetricKeyDetails;
  switch (key.asymmetricKeyType) {
    case 'ec':
      if (details?.namedCurve === 'prime256v1') return 'ES256';
      if (details?.namedCurve === 'secp384r1') return 'ES384';
      break;
    case 'rsa':
      // jose refuses to sign with less, so a short key would fail every token request.
      if ((details?.modulusLength ?? 0) < 2048) throw new DeviceAuthOptionsError(`${name} is a ${details?.modulusLength}-bit RSA key; RS256 needs 2048 bits or more.`);
      return 'RS256';
    case 'ed25519':
      return 'EdDSA';
  }
  const type = key.asymmetricKeyType === 'ec' ? `EC ${CURVE_NAMES[details?.namedCurve ?? ''] ?? details?.namedCurve}` : String(key.asymmetricKeyType).toUpperCase();
  throw new DeviceAuthOptionsError(`${name} is a key of type ${type}; signing keys must be ${SUPPORTED_KEYS}.`);
}
