import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { logServerSide, toOAuthError } from '../oauth/oauth-exception.filter';
import { ServerError } from '../oauth/oauth.errors';
import { Inject } from '@nestjs/common';
import { PageRenderer } from './page-renderer.interface';
import { PAGE_SECURITY_HEADERS, PageResult } from './page';
import { VerificationError } from './verification.error';

/** Sends a page result through whichever HTTP adapter the host runs (Express or Fastify). */
export function sendPage(adapterHost: HttpAdapterHost, response: unknown, page: PageResult): void {
  const http = adapterHost.httpAdapter;
  if ('redirect' in page) {
    http.setHeader(response, 'Cache-Control', 'no-store');
    http.redirect(response, 303, page.redirect);
    return;
  }
  for (const [name, value] of Object.entries({ ...PAGE_SECURITY_HEADERS, ...page.headers })) http.setHeader(response, name, value);
  http.reply(response, page.body, page.status);
}

/** Failures on the verification pages become a readable HTML page; never a stack trace. */
@Catch()
export class PageExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('DeviceAuth');

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(PageRenderer) private readonly renderer: PageRenderer,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const page = exception instanceof VerificationError ? exception : this.toVerificationError(exception);
    sendPage(this.adapterHost, host.switchToHttp().getResponse(), {
      status: page.status,
      body: this.renderer.error({ title: page.title, detail: page.detail }),
      headers: page.headers,
    });
  }

  private toVerificationError(exception: unknown): VerificationError {
    const error = toOAuthError(exception);
    logServerSide(this.logger, exception, error, ' on the verification page');
    if (error instanceof ServerError) return new VerificationError(500, 'server_error', 'Something went wrong', 'Please try again in a moment.');
    if (error.status === 503) {
      return new VerificationError(503, error.error, 'The service is temporarily unavailable', 'Your request could not be completed. Please try again in a moment.', error.headers);
    }
    return new VerificationError(error.status, error.error, 'That request could not be read', error.description, error.headers);
  }
}
