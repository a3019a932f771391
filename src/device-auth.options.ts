import { clientConfigProblem } from './clients/client-config.validation';
import { ClientRegistry, DeviceClientConfig } from './clients/client.interface';
import type { PageRenderer } from './device/page-renderer.interface';
import { USER_CODE_PRESETS, UserCodeFormat, UserCodePreset } from './codes/user-code';
import type { SigningKeyInput } from './token/jwt-token.issuer';
import { TokenIssuer } from './token/token-issuer.interface';
import type { DeviceAuthUser, UserResolver } from './users/user-resolver.interface';

/** Where "now" comes from; tests pass a controllable one. Epoch milliseconds. */
export interface Clock {
  now(): number;
}

export interface DeviceAuthModuleOptions {
  /** Public base URL: the token `iss`, and the base of the verification URLs. */
  issuer: string;
  /** The clients, fixed at boot (the static registry). Give this or `clientRegistry`. */
  clients?: DeviceClientConfig[];
  /**
   * Where clients come from instead: `'database'` (the `device_auth_clients` table, managed at
   * run time through `TypeOrmClientRegistry`) or your own `ClientRegistry`.
   */
  clientRegistry?: 'database' | ClientRegistry;
  /** Who is signed in, and where to send someone who is not: an object, or the two functions below. */
  userResolver?: UserResolver;
  /** Who is signed in on the verification page; null when nobody is. */
  resolveUser?: UserResolver['resolveUser'];
  /** Where to send someone who is not signed in; receives the path to come back to. */
  signInUrl?: UserResolver['signInUrl'];
  /** Replaces the verification pages' templates and wording. */
  pageRenderer?: PageRenderer;
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
  /** The most rows one purge statement deletes, so a large purge never holds long locks. */
  purgeBatchSize?: number;
  /**
   * How long a code is kept after it expired or was denied or redeemed, in seconds (default
   * 600): a late poll still gets the precise answer (`expired_token`, `access_denied`)
   * rather than `invalid_grant` for a code that is gone.
   */
  purgeRetentionSeconds?: number;
  /**
   * Where the module answers `GET` health checks (200 when its database answers, else 503);
   * default `/health`, exactly (no global prefix). `false` leaves health checks to the host,
   * which can call `DeviceAuthHealth.check()` from its own route.
   */
  healthPath?: string | false;
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
  purgeBatchSize: number;
  purgeRetentionSeconds: number;
  healthPath: string | false;
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
  validateUserResolver(options);
  if (typeof options.csrfSecret !== 'string' || options.csrfSecret.length < 32) {
    throw new DeviceAuthOptionsError('csrfSecret must be a string of at least 32 characters.');
  }
  if (!options.tokenIssuer && !options.signingKeys?.length) {
    throw new DeviceAuthOptionsError('give signingKeys (PEM or JWK private keys) or a tokenIssuer.');
  }
  if (options.clientRegistry === undefined) validateClients(options.clients);
  else if (options.clients !== undefined) throw new DeviceAuthOptionsError('give clients or clientRegistry, not both.');
  else if (options.clientRegistry !== 'database' && typeof options.clientRegistry?.findClient !== 'function') {
    throw new DeviceAuthOptionsError('clientRegistry must be "database" or an object with findClient(clientId).');
  }
  const pollIntervalSeconds = positiveInt('pollIntervalSeconds', options.pollIntervalSeconds, 5);
  const maxPollIntervalSeconds = positiveInt('maxPollIntervalSeconds', options.maxPollIntervalSeconds, 60);
  if (maxPollIntervalSeconds < pollIntervalSeconds) {
    throw new DeviceAuthOptionsError(`maxPollIntervalSeconds (${maxPollIntervalSeconds}) must be at least pollIntervalSeconds (${pollIntervalSeconds}).`);
  }
  return {
    issuer,
    verificationUri: `${issuer}${VERIFICATION_PATH}`,
    clients: options.clients ?? [],
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
    purgeBatchSize: positiveInt('purgeBatchSize', options.purgeBatchSize, 1000),
    purgeRetentionSeconds: nonNegativeInt('purgeRetentionSeconds', options.purgeRetentionSeconds, 600),
    accessTokenTtlSeconds: positiveInt('accessTokenTtlSeconds', options.accessTokenTtlSeconds, 3600),
    refreshTokenTtlSeconds: positiveInt('refreshTokenTtlSeconds', options.refreshTokenTtlSeconds, 30 * 24 * 3600),
    validateUser: validateUserHook(options.validateUser),
    audience: options.audience ?? issuer,
    csrfSecret: options.csrfSecret,
    healthPath: healthPathFrom(options.healthPath),
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

function healthPathFrom(path: DeviceAuthModuleOptions['healthPath']): string | false {
  if (path === undefined) return '/health';
  if (path === false || (typeof path === 'string' && /^(\/[A-Za-z0-9._~-]+)+$/.test(path))) return path;
  throw new DeviceAuthOptionsError('healthPath must be false or a plain path such as "/health" (letters, digits, "-", "_", ".", "~" between slashes).');
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

function validateUserResolver(options: DeviceAuthModuleOptions): void {
  const resolver = options.userResolver;
  if (resolver !== undefined) {
    if (typeof resolver?.resolveUser !== 'function' || typeof resolver?.signInUrl !== 'function') {
      throw new DeviceAuthOptionsError('userResolver must have resolveUser(request) and signInUrl(returnTo).');
    }
    if (options.resolveUser !== undefined || options.signInUrl !== undefined) {
      throw new DeviceAuthOptionsError('give userResolver or resolveUser and signInUrl, not both.');
    }
    return;
  }
  if (typeof options.resolveUser !== 'function' || typeof options.signInUrl !== 'function') {
    throw new DeviceAuthOptionsError('resolveUser and signInUrl must be functions (or give a userResolver).');
  }
}

function validateClients(clients: unknown): void {
  if (!Array.isArray(clients) || clients.length === 0) throw new DeviceAuthOptionsError('clients must list at least one client.');
  const seen = new Set<string>();
  for (const client of clients as DeviceClientConfig[]) {
    const problem = clientConfigProblem(client);
    if (problem) throw new DeviceAuthOptionsError(problem);
    if (seen.has(client.clientId)) throw new DeviceAuthOptionsError(`client "${client.clientId}" is listed twice.`);
    seen.add(client.clientId);
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
