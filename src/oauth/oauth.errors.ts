/**
 * One class per OAuth error code (RFC 6749 §5.2, RFC 8628 §3.5). The filter turns any of them
 * into `{ error, error_description, ...extra }` with its status and headers; anything else becomes
 * a bare `server_error`, so internals never reach a client.
 */
export abstract class OAuthError extends Error {
  abstract readonly error: string;
  readonly status: number = 400;
  /** Extra response members, e.g. `interval` on slow_down. */
  readonly extra: Record<string, string | number> = {};
  readonly headers: Record<string, string> = {};

  constructor(readonly description: string) {
    super(description);
    this.name = new.target.name;
  }
}

export class InvalidRequestError extends OAuthError {
  readonly error = 'invalid_request';
  constructor(description: string, override readonly status = 400) {
    super(description);
  }
}

/** 401; when the client tried HTTP Basic the response must challenge it (RFC 6749 §5.2). */
export class InvalidClientError extends OAuthError {
  readonly error = 'invalid_client';
  override readonly status = 401;
  constructor(description: string, usedBasic: boolean) {
    super(description);
    if (usedBasic) this.headers['WWW-Authenticate'] = 'Basic realm="device-auth", charset="UTF-8"';
  }
}

export class InvalidGrantError extends OAuthError {
  readonly error = 'invalid_grant';
}

export class InvalidScopeError extends OAuthError {
  readonly error = 'invalid_scope';
}

export class UnauthorizedClientError extends OAuthError {
  readonly error = 'unauthorized_client';
}

export class UnsupportedGrantTypeError extends OAuthError {
  readonly error = 'unsupported_grant_type';
}

/** RFC 7009 §2.2.1: the server cannot revoke this kind of token. */
export class UnsupportedTokenTypeError extends OAuthError {
  readonly error = 'unsupported_token_type';
}

export class AuthorizationPendingError extends OAuthError {
  readonly error = 'authorization_pending';
}

export class SlowDownError extends OAuthError {
  readonly error = 'slow_down';
  constructor(description: string, interval: number) {
    super(description);
    this.extra.interval = interval;
  }
}

export class AccessDeniedError extends OAuthError {
  readonly error = 'access_denied';
}

export class ExpiredTokenError extends OAuthError {
  readonly error = 'expired_token';
}

/** 429 from a rate limit (or 503 when the server itself cannot serve), with `Retry-After` in seconds. */
export class TemporarilyUnavailableError extends OAuthError {
  readonly error = 'temporarily_unavailable';
  constructor(description: string, retryAfterSeconds: number, override readonly status: 429 | 503 = 429) {
    super(description);
    this.headers['Retry-After'] = String(retryAfterSeconds);
  }
}

export class ServerError extends OAuthError {
  readonly error = 'server_error';
  override readonly status = 500;
}
