import { DeviceClientConfig } from './clients/client.interface';
import { USER_CODE_PRESETS, UserCodeFormat, UserCodePreset } from './codes/user-code';
import type { SigningKeyInput } from './token/jwt-token.issuer';
import type { TokenIssuer } from './token/token-issuer.interface';
import type { DeviceAuthUser, UserResolver } from './users/user-resolver.interface';

/** Where "now" comes from; tests pass a controllable one. Epoch milliseconds. */
export interface Clock {
  now(): number;
}

export interface DeviceAuthModuleOptions {
  /** Public base URL: the token `iss`, and the base of the verification URLs. */
  issuer: string;
  /** Static client registry. */
  clients: DeviceClientConfig[];
  /** Who is signed in on the verification page; null when nobody is. */
  resolveUser: UserResolver['resolveUser'];
  /** Where to send someone who is not signed in; receives the path to come back to. */
  signInUrl: UserResolver['signInUrl'];
  /** Secret (at least 32 characters) the CSRF tokens are derived from; shared by all instances. */
  csrfSecret: string;
  /** Keys that sign access tokens, newest first; ignored when `tokenIssuer` is given. */
  signingKeys?: SigningKeyInput[];
  /** Replaces the default JWT issuer. */
  tokenIssuer?: TokenIssuer;
  /** `aud` of issued access tokens; defaults to the issuer. */
  audience?: string;
  accessTokenTtlSeconds?: number;
  /** How long a refresh token lives; each rotation starts a new one. Default 30 days. */
  refreshTokenTtlSeconds?: number;
  /**
   * Asked whenever tokens are issued (device code redeemed, refresh): false refuses a user who
   * was disabled after approving, with `invalid_grant`. Default: every user is valid.
   */
  validateUser?: (userId: string) => boolean | Promise<boolean>;
  userCode?: UserCodePreset | UserCodeFormat;
  deviceCodeTtlSeconds?: number;
  pollIntervalSeconds?: number;
  /** How much `slow_down` adds to a code's interval (RFC 8628 says 5) and the most it can grow to. */
  slowDownIncrementSeconds?: number;
  maxPollIntervalSeconds?: number;
  /** Device authorization requests per minute per client and IP; 0 turns the limit off. */
  deviceAuthorizationRateLimit?: number;
  /** Failed code entries per 15 minutes per user and per IP before the page locks. */
  verificationFailureLimit?: number;
  /** Descriptions shown beside each scope on the confirmation page. */
  scopeDescriptions?: Record<string, string>;
  /** How often expired rows are purged, in seconds; 0 leaves purging to the host. */
  purgeIntervalSeconds?: number;
  clock?: Clock;
}

/** Options with every default filled in; what the rest of the module reads. */
export interface DeviceAuthConfig {
  issuer: string;
  verificationUri: string;
  clients: DeviceClientConfig[];
  userCodeFormat: UserCodeFormat;
  deviceCodeTtlSeconds: number;
  pollIntervalSeconds: number;
  slowDownIncrementSeconds: number;
  maxPollIntervalSeconds: number;
  deviceAuthorizationRateLimit: number;
  verificationFailureLimit: number;
  verificationFailureWindowSeconds: number;
  scopeDescriptions: Record<string, string>;
  purgeIntervalSeconds: number;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  validateUser: (userId: string) => boolean | Promise<boolean>;
  audience: string;
  csrfSecret: string;
  clock: Clock;
}

export type { DeviceAuthUser };

/** Raised at boot when options cannot work; the message says what to fix. */
export class DeviceAuthOptionsError extends Error {
  constructor(problem: string) {
    super(`DeviceAuthModule options: ${problem}`);
    this.name = 'DeviceAuthOptionsError';
  }
}

export const VERIFICATION_PATH = '/device';

export function resolveConfig(options: DeviceAuthModuleOptions): DeviceAuthConfig {
  const issuer = validIssuer(options.issuer);
  const userCodeFormat = userCodeFormatFrom(options.userCode);
  if (typeof options.resolveUser !== 'function' || typeof options.signInUrl !== 'function') {
    throw new DeviceAuthOptionsError('resolveUser and signInUrl must be functions.');
  }
  if (typeof options.csrfSecret !== 'string' || options.csrfSecret.length < 32) {
    throw new DeviceAuthOptionsError('csrfSecret must be a string of at least 32 characters.');
  }
  if (!options.tokenIssuer && !options.signingKeys?.length) {
    throw new DeviceAuthOptionsError('give signingKeys (PEM or JWK private keys) or a tokenIssuer.');
  }
  validateClients(options.clients);
  const pollIntervalSeconds = positiveInt('pollIntervalSeconds', options.pollIntervalSeconds, 5);
  const maxPollIntervalSeconds = positiveInt('maxPollIntervalSeconds', options.maxPollIntervalSeconds, 60);
  if (maxPollIntervalSeconds < pollIntervalSeconds) {
    throw new DeviceAuthOptionsError(`maxPollIntervalSeconds (${maxPollIntervalSeconds}) must be at least pollIntervalSeconds (${pollIntervalSeconds}).`);
  }
  return {
    issuer,
    verificationUri: `${issuer}${VERIFICATION_PATH}`,
    clients: options.clients,
    userCodeFormat,
    deviceCodeTtlSeconds: positiveInt('deviceCodeTtlSeconds', options.deviceCodeTtlSeconds, 900),
    pollIntervalSeconds,
    slowDownIncrementSeconds: positiveInt('slowDownIncrementSeconds', options.slowDownIncrementSeconds, 5),
    maxPollIntervalSeconds,
    deviceAuthorizationRateLimit: nonNegativeInt('deviceAuthorizationRateLimit', options.deviceAuthorizationRateLimit, 30),
    verificationFailureLimit: positiveInt('verificationFailureLimit', options.verificationFailureLimit, 5),
    verificationFailureWindowSeconds: 15 * 60,
    scopeDescriptions: options.scopeDescriptions ?? {},
    purgeIntervalSeconds: nonNegativeInt('purgeIntervalSeconds', options.purgeIntervalSeconds, 300),
    accessTokenTtlSeconds: positiveInt('accessTokenTtlSeconds', options.accessTokenTtlSeconds, 3600),
    refreshTokenTtlSeconds: positiveInt('refreshTokenTtlSeconds', options.refreshTokenTtlSeconds, 30 * 24 * 3600),
    validateUser: validateUserHook(options.validateUser),
    audience: options.audience ?? issuer,
    csrfSecret: options.csrfSecret,
    clock: options.clock ?? { now: () => Date.now() },
  };
}

function userCodeFormatFrom(userCode: DeviceAuthModuleOptions['userCode']): UserCodeFormat {
  if (typeof userCode === 'object' && userCode !== null) {
    const { charset, length } = userCode;
    if (typeof charset !== 'string' || new Set(charset).size < 10 || new Set(charset).size !== charset.length || !/^[A-Z0-9]+$/.test(charset)) {
      throw new DeviceAuthOptionsError('userCode.charset must be at least 10 distinct characters from A-Z and 0-9.');
    }
    if (!Number.isInteger(length) || length < 6 || length > 16) throw new DeviceAuthOptionsError('userCode.length must be a whole number from 6 to 16.');
    return { charset, length };
  }
  const name = userCode ?? 'base20';
  if (!Object.hasOwn(USER_CODE_PRESETS, name)) {
    throw new DeviceAuthOptionsError(`userCode must be one of ${Object.keys(USER_CODE_PRESETS).join(', ')}, or { charset, length }.`);
  }
  return USER_CODE_PRESETS[name];
}

function validateUserHook(hook: DeviceAuthModuleOptions['validateUser']): DeviceAuthConfig['validateUser'] {
  if (hook === undefined) return () => true;
  if (typeof hook !== 'function') throw new DeviceAuthOptionsError('validateUser must be a function (userId) => boolean | Promise<boolean>.');
  return hook;
}

function validIssuer(issuer: unknown): string {
  if (typeof issuer !== 'string') throw new DeviceAuthOptionsError('issuer must be the public base URL, e.g. "https://auth.example.com".');
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw new DeviceAuthOptionsError(`issuer "${issuer}" is not a URL; give the public base URL, e.g. "https://auth.example.com".`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new DeviceAuthOptionsError('issuer must be an http(s) URL.');
  if (url.search || url.hash) throw new DeviceAuthOptionsError('issuer must not have a query or fragment.');
  return issuer.replace(/\/+$/, '');
}

function validateClients(clients: unknown): void {
  if (!Array.isArray(clients) || clients.length === 0) throw new DeviceAuthOptionsError('clients must list at least one client.');
  const seen = new Set<string>();
  for (const client of clients as DeviceClientConfig[]) {
    if (!client || typeof client.clientId !== 'string' || client.clientId === '' || client.clientId.length > 128) {
      throw new DeviceAuthOptionsError('each client needs a clientId of 1 to 128 characters.');
    }
    if (seen.has(client.clientId)) throw new DeviceAuthOptionsError(`client "${client.clientId}" is listed twice.`);
    seen.add(client.clientId);
    if (typeof client.name !== 'string' || client.name === '') throw new DeviceAuthOptionsError(`client "${client.clientId}" needs a name.`);
    if (!Array.isArray(client.scopes) || client.scopes.some((s) => typeof s !== 'string' || !/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(s))) {
      throw new DeviceAuthOptionsError(`client "${client.clientId}" needs scopes: an array of scope tokens.`);
    }
    const extra = (client.defaultScopes ?? []).filter((s) => !client.scopes.includes(s));
    if (extra.length) throw new DeviceAuthOptionsError(`client "${client.clientId}" has default scopes it is not allowed: ${extra.join(', ')}.`);
    if (client.secret !== undefined && (typeof client.secret !== 'string' || client.secret.length < 16)) {
      throw new DeviceAuthOptionsError(`client "${client.clientId}" has a secret shorter than 16 characters.`);
    }
    if (client.refreshTokens !== undefined && typeof client.refreshTokens !== 'boolean') {
      throw new DeviceAuthOptionsError(`client "${client.clientId}" has refreshTokens that is not true or false.`);
    }
    if (client.secretSha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(client.secretSha256)) {
      throw new DeviceAuthOptionsError(`client "${client.clientId}" has a secretSha256 that is not 64 hex characters.`);
    }
  }
}

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1) throw new DeviceAuthOptionsError(`${name} must be a positive whole number (got ${String(value)}).`);
  return v;
}

function nonNegativeInt(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 0) throw new DeviceAuthOptionsError(`${name} must be a whole number, 0 or more (got ${String(value)}).`);
  return v;
}
