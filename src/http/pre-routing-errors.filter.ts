import { ArgumentsHost, Catch, Inject } from '@nestjs/common';
import { BaseExceptionFilter, HttpAdapterHost } from '@nestjs/core';
import { PageRenderer } from '../device/page-renderer.interface';
import { PageExceptionFilter } from '../device/page-exception.filter';
import { OAuthExceptionFilter } from '../oauth/oauth-exception.filter';
import { InvalidRequestError } from '../oauth/oauth.errors';
import { isDatabaseUnavailable } from '../store/db-errors';

/** The module's own POST routes, by exact path: a host route is never answered for. */
const JSON_ENDPOINTS = new Set([
  '/oauth/token',
  '/oauth/device_authorization',
  '/oauth/revoke',
  '/oauth/introspect',
  '/device/api/lookup',
  '/device/api/approve',
  '/device/api/deny',
]);
const VERIFICATION_PAGES = new Set(['/device', '/device/approve', '/device/deny']);
/** Discovery has no filter of its own; it reads the database with `clientRegistry: 'database'`. */
const DISCOVERY_ENDPOINTS = new Set(['/.well-known/oauth-authorization-server', '/.well-known/jwks.json']);

/**
 * Bodies are parsed before routing, so a malformed, oversized or unsupported body never reaches
 * the filters on our controllers: Nest hands it to the global filters, whose default answer
 * (`{statusCode, message}`) is neither an OAuth error nor a page. Registered globally by the
 * module, this filter answers such errors on the module's own paths (exactly; with a global
 * prefix they fall back to Nest's format) in their format (RFC 6749 §5.2 JSON, or the HTML error
 * page), and a wrong method on a JSON endpoint with 405. Every other route keeps Nest's handling.
 */
@Catch()
export class PreRoutingErrorsFilter extends BaseExceptionFilter {
  private readonly oauth: OAuthExceptionFilter;
  private readonly pages: PageExceptionFilter;

  constructor(adapterHost: HttpAdapterHost, @Inject(PageRenderer) renderer: PageRenderer) {
    super(adapterHost.httpAdapter);
    this.oauth = new OAuthExceptionFilter(adapterHost);
    this.pages = new PageExceptionFilter(adapterHost, renderer);
  }

  override catch(exception: unknown, host: ArgumentsHost): void {
    const request = host.getType() === 'http' ? host.switchToHttp().getRequest<RawRequest>() : undefined;
    const path = pathOf(request);
    if (path !== undefined && JSON_ENDPOINTS.has(path)) {
      // Another method on a POST-only endpoint: 405 with Allow, still in the OAuth format.
      const error = request?.method === 'POST' ? exception : new MethodNotAllowedError();
      return this.oauth.catch(error, host);
    }
    if (path !== undefined && VERIFICATION_PAGES.has(path) && request?.method === 'POST') return this.pages.catch(exception, host);
    // A database outage there is a 503 in the OAuth format too, never Nest's 500.
    if (path !== undefined && DISCOVERY_ENDPOINTS.has(path) && isDatabaseUnavailable(exception)) return this.oauth.catch(exception, host);
    super.catch(exception, host);
  }
}

type RawRequest = { method?: unknown; url?: unknown; originalUrl?: unknown } | undefined;

class MethodNotAllowedError extends InvalidRequestError {
  constructor() {
    super('This endpoint only accepts POST.', 405);
    this.headers.Allow = 'POST';
  }
}

/** The path as Express routes it too: case-insensitive, a trailing slash ignored. */
function pathOf(request: RawRequest): string | undefined {
  const url = request?.originalUrl ?? request?.url;
  return typeof url === 'string' ? url.split('?')[0].toLowerCase().replace(/(.)\/+$/, '$1') : undefined;
}
