import { setTimeout as sleep } from 'node:timers/promises';
import { CliError, EXIT } from './cli.errors';

export const DEVICE_CODE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';
const REQUEST_TIMEOUT_MS = 15_000;
/** Shown on the confirmation page, so the person can tell what is asking to sign in. */
const USER_AGENT = `nest-device-login (Node.js ${process.version})`;
/** RFC 8628 §3.5: without an `interval`, clients poll every 5 seconds. */
const DEFAULT_INTERVAL_SECONDS = 5;

export interface ServerMetadata {
  issuer: string;
  device_authorization_endpoint: string;
  token_endpoint: string;
}

export interface DeviceAuthorization {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete?: string;
  expires_in: number;
  interval: number;
}

export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in?: number;
  scope?: string;
  refresh_token?: string;
}

export interface SignedInUser {
  user: string;
  scopes: string[];
}

type PollResult = { outcome: 'tokens'; tokens: TokenResponse } | { outcome: 'pending' } | { outcome: 'slow_down'; interval?: number };

interface HttpAnswer {
  status: number;
  headers: Headers;
  body: unknown;
}

/**
 * The device's side of RFC 8628 over global fetch: discovery (RFC 8414), the device
 * authorization request, token polling, and the demo's `/api/me` where the server has one.
 * Every request can be cancelled through `signal`; a cancelled request rejects with the abort
 * reason, untouched.
 */
export class DeviceFlowClient {
  constructor(
    private readonly server: string,
    private readonly clientId: string,
    private readonly secret: string | undefined,
    private readonly signal: AbortSignal,
  ) {}

  async discover(): Promise<ServerMetadata> {
    const url = `${this.server}/.well-known/oauth-authorization-server`;
    const answer = await this.request(url, { headers: { Accept: 'application/json' } });
    if (answer.status !== 200 || !isRecord(answer.body)) {
      throw new CliError(`${this.server} serves no OAuth metadata at ${url} (${describeStatus(answer)}): is --server the authorization server's base URL?`);
    }
    const metadata = answer.body;
    // RFC 8414 §3.3: the issuer must be exactly the URL the metadata was asked for, or the
    // answer may come from an impostor; a mismatch is also the usual sign of a wrong PUBLIC_URL.
    if (metadata.issuer !== this.server) {
      throw new CliError(`The server at ${this.server} calls itself "${printableValue(metadata.issuer)}": run again with that as --server.`);
    }
    const endpoints = { device_authorization_endpoint: metadata.device_authorization_endpoint, token_endpoint: metadata.token_endpoint };
    for (const [name, value] of Object.entries(endpoints)) {
      if (!isHttpUrl(value)) throw new CliError(`The server's metadata has no usable ${name}: it does not offer the device authorization grant.`);
    }
    return { issuer: this.server, ...(endpoints as Omit<ServerMetadata, 'issuer'>) };
  }

  async authorize(metadata: ServerMetadata, scope: string | undefined): Promise<DeviceAuthorization> {
    const answer = await this.post(metadata.device_authorization_endpoint, scope === undefined ? {} : { scope });
    if (answer.status !== 200) throw this.refusal('The server refused the device authorization request', answer);
    const body = answer.body;
    const valid =
      isRecord(body) &&
      typeof body.device_code === 'string' &&
      body.device_code !== '' &&
      typeof body.user_code === 'string' &&
      body.user_code !== '' &&
      isHttpUrl(body.verification_uri) &&
      positiveNumber(body.expires_in);
    if (!valid) throw new CliError(`The device authorization response is not what RFC 8628 §3.2 describes.`);
    return {
      device_code: body.device_code as string,
      user_code: body.user_code as string,
      verification_uri: body.verification_uri as string,
      ...(isHttpUrl(body.verification_uri_complete) ? { verification_uri_complete: body.verification_uri_complete } : {}),
      expires_in: body.expires_in as number,
      interval: positiveNumber(body.interval) ? Math.max(1, body.interval) : DEFAULT_INTERVAL_SECONDS,
    };
  }

  /**
   * Polls the token endpoint every `interval` seconds until the person decides or the code
   * expires (RFC 8628 §3.4, §3.5): `slow_down` lengthens the interval for good (to the
   * server's new `interval`, else by 5 seconds), and polling stops at `expires_in`.
   */
  async pollForTokens(
    metadata: ServerMetadata,
    device: DeviceAuthorization,
    deadline: number,
    onSlowDown: (intervalSeconds: number) => void,
  ): Promise<TokenResponse> {
    let interval = device.interval;
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw expired();
      await sleep(Math.min(interval * 1000, remaining), undefined, { signal: this.signal });
      if (Date.now() >= deadline) throw expired();
      const result = await this.pollOnce(metadata, device.device_code);
      if (result.outcome === 'tokens') return result.tokens;
      if (result.outcome === 'slow_down') {
        interval = result.interval !== undefined && result.interval > interval ? result.interval : interval + 5;
        onSlowDown(interval);
      }
    }
  }

  /**
   * GET {server}/api/me with the access token: who the token belongs to, as the demo answers
   * (`{ user, scopes }`). Undefined on 404: the module does not provide that route, so a host
   * app without it has nothing to say, and the sign-in stands. Any other answer is a CliError.
   */
  async whoAmI(tokens: TokenResponse): Promise<SignedInUser | undefined> {
    const url = `${this.server}/api/me`;
    const answer = await this.request(url, { headers: { Accept: 'application/json', Authorization: `Bearer ${tokens.access_token}` } });
    if (answer.status === 404) return undefined;
    const body = answer.body;
    if (answer.status !== 200 || !isRecord(body) || typeof body.user !== 'string') {
      throw new CliError(`GET ${url} did not say who signed in (${describeStatus(answer)}).`);
    }
    const scopes = Array.isArray(body.scopes) ? body.scopes.filter((s): s is string => typeof s === 'string') : [];
    return { user: body.user, scopes };
  }

  private async pollOnce(metadata: ServerMetadata, deviceCode: string): Promise<PollResult> {
    const answer = await this.post(metadata.token_endpoint, { grant_type: DEVICE_CODE_GRANT_TYPE, device_code: deviceCode });
    const body = answer.body;
    if (answer.status === 200) {
      const valid = isRecord(body) && typeof body.access_token === 'string' && body.access_token !== '' && typeof body.token_type === 'string';
      if (!valid) throw new CliError('The token response has no access_token and token_type.');
      return {
        outcome: 'tokens',
        tokens: {
          access_token: body.access_token as string,
          token_type: body.token_type as string,
          ...(positiveNumber(body.expires_in) ? { expires_in: body.expires_in } : {}),
          ...(typeof body.scope === 'string' ? { scope: body.scope } : {}),
          ...(typeof body.refresh_token === 'string' && body.refresh_token !== '' ? { refresh_token: body.refresh_token } : {}),
        },
      };
    }
    const error = isRecord(body) ? body.error : undefined;
    switch (error) {
      case 'authorization_pending':
        return { outcome: 'pending' };
      case 'slow_down':
        return { outcome: 'slow_down', interval: isRecord(body) && positiveNumber(body.interval) ? body.interval : undefined };
      case 'access_denied':
        throw new CliError('Access denied: the sign-in was refused in the browser.', EXIT.accessDenied);
      case 'expired_token':
        throw expired();
      default:
        throw this.refusal('The token request failed', answer);
    }
  }

  /** A form POST with this client's identification (RFC 6749 §2.3.1). */
  private post(url: string, form: Record<string, string>): Promise<HttpAnswer> {
    const headers: Record<string, string> = { Accept: 'application/json', 'Content-Type': 'application/x-www-form-urlencoded' };
    const params = new URLSearchParams(form);
    if (this.secret === undefined) {
      params.set('client_id', this.clientId);
    } else {
      const encode = (value: string) => new URLSearchParams({ v: value }).toString().slice(2);
      headers.Authorization = `Basic ${Buffer.from(`${encode(this.clientId)}:${encode(this.secret)}`).toString('base64')}`;
    }
    return this.request(url, { method: 'POST', headers, body: params.toString() });
  }

  private async request(url: string, init: RequestInit): Promise<HttpAnswer> {
    let response: Response;
    let text: string;
    try {
      // Redirects are not followed: a POST carrying a device code must reach the named endpoint.
      const headers = { ...(init.headers as Record<string, string>), 'User-Agent': USER_AGENT };
      response = await fetch(url, { ...init, headers, redirect: 'manual', signal: AbortSignal.any([this.signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]) });
      text = await response.text();
    } catch (error) {
      if (this.signal.aborted) throw error;
      throw new CliError(`Cannot reach ${new URL(url).origin}: ${networkReason(error)}.`);
    }
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: response.status, headers: response.headers, body };
  }

  /** One line from an RFC 6749 §5.2 error answer, with a hint where one helps. */
  private refusal(what: string, answer: HttpAnswer): CliError {
    const body = isRecord(answer.body) ? answer.body : {};
    if (typeof body.error !== 'string') return new CliError(`${what} (${describeStatus(answer)}).`);
    const description = typeof body.error_description === 'string' ? ` (${printable(body.error_description).replace(/\.$/, '')})` : '';
    let hint = '';
    if (body.error === 'invalid_client') hint = this.secret === undefined ? ' Check --client; a confidential client also needs --secret.' : ' Check --client and --secret.';
    if (body.error === 'invalid_scope') hint = ' Check --scope.';
    const retryAfter = answer.headers.get('retry-after');
    if (answer.status === 429 && retryAfter && /^\d+$/.test(retryAfter)) hint = ` Try again in ${retryAfter} s.`;
    return new CliError(`${what}: ${printable(body.error)}${description}.${hint}`);
  }
}

function expired(): CliError {
  return new CliError('The code expired before the sign-in was approved: run the command again for a new code.', EXIT.expired);
}

function networkReason(error: unknown): string {
  if (error instanceof DOMException && error.name === 'TimeoutError') return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  const cause = error instanceof Error ? (error.cause as { message?: unknown } | undefined) : undefined;
  const message = typeof cause?.message === 'string' ? cause.message : error instanceof Error ? error.message : String(error);
  return printable(message);
}

function describeStatus(answer: HttpAnswer): string {
  return answer.status >= 300 && answer.status < 400 ? `HTTP ${answer.status}, a redirect` : `HTTP ${answer.status}`;
}

/** Server-supplied text without control characters, so it cannot drive the terminal. */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '');
}

function printableValue(value: unknown): string {
  return typeof value === 'string' ? printable(value) : String(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function positiveNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}

function isHttpUrl(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}
