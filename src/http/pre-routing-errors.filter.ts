import { ArgumentsHost, Catch, Inject } from '@nestjs/common';
import { BaseExceptionFilter, HttpAdapterHost } from '@nestjs/core';
import { PageRenderer } from '../device/page-renderer.interface';
import { PageExceptionFilter } from '../device/page-exception.filter';
import { OAuthExceptionFilter } from '../oauth/oauth-exception.filter';

/** The module's routes, matched on the end of the path so that a global prefix still matches. */
const JSON_ENDPOINTS = /\/(oauth\/(token|device_authorization|revoke|introspect)|device\/api\/(lookup|approve|deny))\/?$/;
const VERIFICATION_PAGES = /\/device(\/approve|\/deny)?\/?$/;

/**
 * Bodies are parsed before routing, so a malformed, oversized or unsupported body never reaches
 * the filters on our controllers: Nest hands it to the global filters, whose default answer
 * (`{statusCode, message}`) is neither an OAuth error nor a page. Registered globally by the
 * module, this filter answers such errors on the module's own routes in their format (RFC 6749
 * §5.2 JSON, or the HTML error page) and leaves every other route to Nest's default handling.
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
    const path = host.getType() === 'http' ? postPath(host.switchToHttp().getRequest()) : undefined;
    if (path !== undefined && JSON_ENDPOINTS.test(path)) return this.oauth.catch(exception, host);
    if (path !== undefined && VERIFICATION_PAGES.test(path)) return this.pages.catch(exception, host);
    super.catch(exception, host);
  }
}

/** The path of a POST request (bodies only come with POSTs here); undefined otherwise. */
function postPath(request: { method?: unknown; url?: unknown; originalUrl?: unknown } | undefined): string | undefined {
  const url = request?.originalUrl ?? request?.url;
  if (request?.method !== 'POST' || typeof url !== 'string') return undefined;
  return url.split('?')[0];
}
