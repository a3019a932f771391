import { Body, Controller, Get, Header, HttpCode, Inject, Post, Query, Req, Res, UseFilters } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ApiExcludeEndpoint, ApiTags } from '@nestjs/swagger';
import { ApiJsonEndpoint, ApiPage } from '../openapi/openapi.decorators';
import { DeviceAuthorizationBody, DeviceAuthorizationParams, VerificationParams } from '../openapi/openapi.models';
import { authenticateClient } from '../clients/client-authenticator';
import { ClientRegistry } from '../clients/client.interface';
import { resolveScopes } from '../clients/scopes';
import { DEVICE_AUTH_CONFIG } from '../device-auth.constants';
import type { DeviceAuthConfig } from '../device-auth.options';
import { assertParamsMediaType, headerValue, readParams } from '../http/request-params';
import { RateLimiter } from '../limits/rate-limiter.service';
import { DeviceAuthEvents } from '../events/device-auth.events';
import { OAuthExceptionFilter } from '../oauth/oauth-exception.filter';
import { TemporarilyUnavailableError } from '../oauth/oauth.errors';
import { DeviceAuthorizationResponse, DeviceCodeStore, UserCodesExhaustedError } from '../store/device-code.store';
import { DeviceAuthRequest, DeviceAuthUser } from '../users/user-resolver.interface';
import { PageRenderer, STYLESHEET_PATH } from './page-renderer.interface';
import { PageExceptionFilter, sendPage } from './page-exception.filter';
import { PageResult } from './page';
import { VerificationError } from './verification.error';
import { Decision, VerificationService } from './verification.service';

const DEVICE_AUTHORIZATION_PARAMS = { client_id: 128, client_secret: 512, scope: 1024 } as const;
const VERIFICATION_PARAMS = { user_code: 64, _csrf: 128 } as const;
const DECISION_PAGES = { 200: 'result page', 401: 'not signed in', 403: 'bad CSRF token', 404: 'unknown code', 409: 'already decided', 410: 'expired', 429: 'too many wrong codes' };

/** The device's entry point (RFC 8628 §3.1) and the person's verification pages (§3.3). */
@ApiTags('Device flow')
@Controller()
export class DeviceController {

  constructor(
    private readonly store: DeviceCodeStore,
    private readonly limiter: RateLimiter,
    private readonly verification: VerificationService,
    private readonly events: DeviceAuthEvents,
    @Inject(PageRenderer) private readonly renderer: PageRenderer,
    private readonly adapterHost: HttpAdapterHost,
    @Inject(ClientRegistry) private readonly clients: ClientRegistry,
    @Inject(DEVICE_AUTH_CONFIG) private readonly config: DeviceAuthConfig,
  ) {}

  @Post('oauth/device_authorization')
  @ApiJsonEndpoint('Device authorization request (RFC 8628 §3.1)', DeviceAuthorizationParams, DeviceAuthorizationBody, {
    400: 'invalid_scope, invalid_request',
    401: 'invalid_client (with WWW-Authenticate when HTTP Basic was used)',
    429: 'temporarily_unavailable: too many requests from this client and IP (Retry-After)',
    503: 'temporarily_unavailable: the database cannot be reached, or no free user code could be drawn (Retry-After)',
  })
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @Header('Pragma', 'no-cache')
  @UseFilters(OAuthExceptionFilter)
  async deviceAuthorization(@Req() request: DeviceAuthRequest, @Body() body: unknown): Promise<DeviceAuthorizationResponse> {
    assertParamsMediaType(request.headers);
    const params = readParams(body, DEVICE_AUTHORIZATION_PARAMS);
    const client = await authenticateClient(this.clients, headerValue(request.headers, 'authorization'), params);
    const scope = resolveScopes(client, params.scope);
    const ip = clientIp(request);
    if (this.config.deviceAuthorizationRateLimit > 0) {
      const verdict = await this.limiter.hit(
        { name: 'device_authorization', limit: this.config.deviceAuthorizationRateLimit, windowSeconds: 60 },
        [`client:${client.clientId}\nip:${ip}`],
      );
      if (!verdict.allowed) {
        this.events.emit('rate_limited', { limit: 'device_authorization', clientId: client.clientId, ip });
        throw new TemporarilyUnavailableError('Too many device authorization requests; try again later.', verdict.retryAfterSeconds);
      }
    }
    const response = await this.store.createDeviceCode(client.clientId, scope, { ip, userAgent: userAgent(request) }).catch((error: unknown) => {
      if (error instanceof UserCodesExhaustedError) throw new TemporarilyUnavailableError('No free user code could be drawn; try again shortly.', 1, 503);
      throw error;
    });
    this.events.emit('device_code.created', { clientId: client.clientId, scope, ip });
    return response;
  }

  /** The entry form; `?user_code=` (from verification_uri_complete) goes straight to the confirmation page. */
  @Get('device')
  @ApiPage('The verification page: the code entry form, or with ?user_code= the confirmation page', { 200: 'entry or confirmation page', 303: 'not signed in: to the sign-in', 404: 'unknown code', 409: 'already decided', 410: 'expired', 429: 'too many wrong codes' })
  @UseFilters(PageExceptionFilter)
  async entry(@Req() request: DeviceAuthRequest, @Res() response: unknown, @Query() query: unknown): Promise<void> {
    const { user_code: userCode } = readParams(query, VERIFICATION_PARAMS);
    const user = await this.verification.resolveUser(request);
    if (!user) return this.send(response, { redirect: this.verification.signInUrl(verificationPath(userCode)) });
    const csrfToken = this.verification.csrfToken(user);
    // A link from another site only fills the form in: it must not spend the person's guessing
    // allowance (a page could make their browser try codes), and they press Continue themselves.
    if (userCode === undefined || isCrossSite(request)) return this.send(response, { status: 200, body: this.renderer.entry({ user, csrfToken, userCode }) });
    return this.send(response, await this.confirmation(request, user, userCode));
  }

  /** The entered code, looked up: the confirmation page, or the form again with what went wrong. */
  @Post('device')
  @ApiPage('Look the entered code up and show the confirmation page', { 200: 'confirmation page', 401: 'not signed in', 403: 'bad CSRF token', 404: 'unknown code', 409: 'already decided', 410: 'expired', 429: 'too many wrong codes' }, VerificationParams)
  @UseFilters(PageExceptionFilter)
  async submitCode(@Req() request: DeviceAuthRequest, @Res() response: unknown, @Body() body: unknown): Promise<void> {
    const params = readParams(body, VERIFICATION_PARAMS);
    const user = await this.verification.requireUser(request);
    this.verification.assertCsrf(user, params._csrf);
    return this.send(response, await this.confirmation(request, user, params.user_code ?? ''));
  }

  @Post('device/approve')
  @ApiPage('Approve: the device gets its tokens on its next poll', DECISION_PAGES, VerificationParams)
  @UseFilters(PageExceptionFilter)
  approve(@Req() request: DeviceAuthRequest, @Res() response: unknown, @Body() body: unknown): Promise<void> {
    return this.decide('approve', request, response, body);
  }

  @Post('device/deny')
  @ApiPage('Deny: the device gets access_denied', DECISION_PAGES, VerificationParams)
  @UseFilters(PageExceptionFilter)
  deny(@Req() request: DeviceAuthRequest, @Res() response: unknown, @Body() body: unknown): Promise<void> {
    return this.decide('deny', request, response, body);
  }

  @Get(STYLESHEET_PATH)
  @ApiExcludeEndpoint()
  @Header('Content-Type', 'text/css; charset=utf-8')
  @Header('Cache-Control', 'public, max-age=3600')
  @Header('X-Content-Type-Options', 'nosniff')
  stylesheet(): string {
    return this.renderer.stylesheet();
  }

  private async decide(decision: Decision, request: DeviceAuthRequest, response: unknown, body: unknown): Promise<void> {
    const params = readParams(body, VERIFICATION_PARAMS);
    const user = await this.verification.requireUser(request);
    this.verification.assertCsrf(user, params._csrf);
    const { clientName } = await this.verification.decide(decision, user, clientIp(request), params.user_code ?? '');
    return this.send(response, { status: 200, body: this.renderer.result({ user, clientName, approved: decision === 'approve' }) });
  }

  private async confirmation(request: DeviceAuthRequest, user: DeviceAuthUser, userCode: string): Promise<PageResult> {
    const csrfToken = this.verification.csrfToken(user);
    try {
      const { code, client } = await this.verification.lookUp(user, clientIp(request), userCode);
      const model = { user, csrfToken, code, client, scopeDescriptions: this.config.scopeDescriptions, now: this.config.clock.now() };
      return { status: 200, body: this.renderer.confirm(model) };
    } catch (error) {
      if (!(error instanceof VerificationError) || error.status === 403) throw error;
      // A wrong, expired or used code: the form again, with the reason, so the person can retry.
      const problem = `${error.title}. ${error.detail}`;
      return { status: error.status, headers: error.headers, body: this.renderer.entry({ user, csrfToken, userCode, problem }) };
    }
  }

  private send(response: unknown, page: PageResult): void {
    sendPage(this.adapterHost, response, page);
  }
}

/** Fetch metadata: the browser says the navigation came from another site. */
function isCrossSite(request: DeviceAuthRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  return site === 'cross-site' || site === 'same-site';
}

function verificationPath(userCode: string | undefined): string {
  return userCode === undefined ? '/device' : `/device?user_code=${encodeURIComponent(userCode)}`;
}

/** Express and Fastify both expose the peer address (or the proxy-derived one) as `ip`. */
export function clientIp(request: DeviceAuthRequest): string {
  return typeof request.ip === 'string' ? request.ip : 'unknown';
}

function userAgent(request: DeviceAuthRequest): string | undefined {
  const value = request.headers['user-agent'];
  return typeof value === 'string' ? value : undefined;
}
