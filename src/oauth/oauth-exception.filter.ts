import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { QueryFailedError } from 'typeorm';
import { databaseErrorSummary, isDatabaseUnavailable } from '../store/db-errors';
import { InvalidRequestError, OAuthError, ServerError, TemporarilyUnavailableError } from './oauth.errors';

/** `Retry-After` of a 503 while the database is unavailable: about one polling interval. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

/**
 * The one serialiser for the JSON endpoints: an OAuthError becomes its RFC 6749 §5.2 body;
 * a framework 4xx (bad JSON, body too large, unsupported media type) becomes `invalid_request`
 * with its status; a database outage is 503 `temporarily_unavailable` with Retry-After; anything
 * else is a bare `server_error` whose details stay in the log.
 */
@Catch()
export class OAuthExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('DeviceAuth');

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const error = toOAuthError(exception);
    logServerSide(this.logger, exception, error, '');
    const http = this.adapterHost.httpAdapter;
    const response = host.switchToHttp().getResponse();
    const headers = { ...error.headers, 'Cache-Control': 'no-store', Pragma: 'no-cache' };
    for (const [name, value] of Object.entries(headers)) http.setHeader(response, name, value);
    http.reply(response, { error: error.error, error_description: rfcErrorText(error.description), ...error.extra }, error.status);
  }
}

/**
 * RFC 6749 §5.2 allows only %x20-21 / %x23-5B / %x5D-7E in error_description: quotes and
 * backslashes are swapped for look-alikes, anything else outside printable ASCII (an echoed
 * value could carry it) becomes '?'.
 */
export function rfcErrorText(text: string): string {
  return text.replace(/"/g, "'").replace(/\\/g, '/').replace(/[^\x20-\x7E]/g, '?');
}

export function toOAuthError(exception: unknown): OAuthError {
  if (exception instanceof OAuthError) return exception;
  if (isDatabaseUnavailable(exception)) {
    return new TemporarilyUnavailableError('The service is temporarily unavailable; try again shortly.', UNAVAILABLE_RETRY_AFTER_SECONDS, 503);
  }
  if (exception instanceof HttpException && exception.getStatus() < 500) {
    return new InvalidRequestError(describeHttpException(exception), exception.getStatus());
  }
  const status = (exception as { status?: unknown; statusCode?: unknown } | null)?.status ?? (exception as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new InvalidRequestError(status === 413 ? 'The request body is too large.' : 'The request could not be read.', status);
  }
  return new ServerError('The server could not complete the request.');
}

function describeHttpException(exception: HttpException): string {
  switch (exception.getStatus()) {
    case 413:
      return 'The request body is too large.';
    case 415:
      return 'Send the parameters form-encoded (application/x-www-form-urlencoded) or as JSON.';
    case 404:
      return 'There is no such endpoint.';
    default:
      return 'The request could not be read.';
  }
}

/**
 * The log line for a failure that is not the client's: an outage gets the error's class and code
 * only (a query's message and parameters may carry codes), anything unexpected its class and
 * message. `where` says on which surface, e.g. ' on the verification page'.
 */
export function logServerSide(logger: Logger, exception: unknown, error: OAuthError, where: string): void {
  if (isDatabaseUnavailable(exception)) logger.warn(`database unavailable${where}: ${databaseErrorSummary(exception)}`);
  else if (error instanceof ServerError) logger.error(`unexpected error${where}: ${describe(exception)}`);
}

/**
 * Error class and message only: never a request body, which may carry secrets. A query's error
 * gets its class and code alone, as the server's message can quote a value ("Duplicate entry ...").
 */
export function describe(exception: unknown): string {
  if (exception instanceof QueryFailedError) return databaseErrorSummary(exception);
  return exception instanceof Error ? `${exception.name}: ${exception.message}` : typeof exception;
}
