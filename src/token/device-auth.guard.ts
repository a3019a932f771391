import { CanActivate, ExecutionContext, HttpException, Inject, Injectable, SetMetadata } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';

import { parseScope } from '../clients/scopes';
import { TokenIssuer, VerifiedAccessToken } from './token-issuer.interface';

const SCOPES_KEY = 'device-auth:scopes';

/** Scopes a route needs; every one must be in the token. */
export const Scopes = (...scopes: string[]) => SetMetadata(SCOPES_KEY, scopes);

/** Where the guard leaves the verified token on the request. */
export interface DeviceAuthenticatedRequest {
  deviceAuth: VerifiedAccessToken;
}

/**
 * Protects host routes with the issued access tokens (RFC 6750 §3.1): 401 with a bare challenge
 * when no bearer token is sent, 400 `invalid_request` for a malformed one, 401 `invalid_token`
 * for an invalid or expired one, 403 `insufficient_scope` when a `@Scopes()` scope is missing.
 */
@Injectable()
export class DeviceAuthGuard implements CanActivate {
  constructor(
    @Inject(TokenIssuer) private readonly issuer: TokenIssuer,
    private readonly reflector: Reflector,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, unknown> } & Partial<DeviceAuthenticatedRequest>>();
    const refuse = (status: number, error: string, description: string, challenge: string) => {
      this.adapterHost.httpAdapter.setHeader(context.switchToHttp().getResponse(), 'WWW-Authenticate', challenge);
      return new HttpException({ error, error_description: description }, status);
    };
    const header = request.headers.authorization;
    // RFC 6750 §3.1: a request without bearer credentials (no header, or another scheme such as
    // Basic) gets a bare challenge, without an error code; a malformed Bearer header is a bad request.
    if (typeof header !== 'string' || !/^Bearer(\s|$)/i.test(header)) {
      throw refuse(401, 'invalid_token', 'A bearer access token is required.', 'Bearer realm="device-auth"');
    }
    const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
    if (!match) {
      const description = 'The Authorization header is not a well-formed bearer token.';
      throw refuse(400, 'invalid_request', description, challenge('invalid_request', description));
    }
    let token: VerifiedAccessToken;
    try {
      token = await this.issuer.verify(match[1]);
    } catch {
      throw refuse(401, 'invalid_token', 'The access token is invalid or expired.', challenge('invalid_token', 'The access token is invalid or expired.'));
    }
    const needed = this.reflector.getAllAndOverride<string[] | undefined>(SCOPES_KEY, [context.getHandler(), context.getClass()]) ?? [];
    const granted = parseScope(token.scope);
    const missing = needed.filter((scope) => !granted.includes(scope));
    if (missing.length) {
      const description = `This needs the scope: ${needed.join(' ')}.`;
      throw refuse(403, 'insufficient_scope', description, `${challenge('insufficient_scope', description)}, scope="${needed.join(' ')}"`);
    }
    request.deviceAuth = token;
    return true;
  }
}

function challenge(error: string, description: string): string {
  return `Bearer realm="device-auth", error="${error}", error_description="${description}"`;
}
