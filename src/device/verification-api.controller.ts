import { ArgumentsHost, Body, Catch, Controller, ExceptionFilter, Get, Header, HttpCode, Inject, Post, Req, UseFilters } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiJsonEndpoint } from '../openapi/openapi.decorators';
import { DecisionBody, LookupBody, OAuthErrorBody, SessionBody, VerificationParams } from '../openapi/openapi.models';
import { formatUserCode } from '../codes/user-code';
import { DEVICE_AUTH_CONFIG } from '../device-auth.constants';
import type { DeviceAuthConfig } from '../device-auth.options';
import { assertParamsMediaType, headerValue, readParams } from '../http/request-params';
import { OAuthExceptionFilter, rfcErrorText } from '../oauth/oauth-exception.filter';
import { parseScope } from '../clients/scopes';
import { DeviceAuthRequest } from '../users/user-resolver.interface';
import { clientIp } from './device.controller';
import { VerificationError } from './verification.error';
import { Decision, VerificationService } from './verification.service';

const PARAMS = { user_code: 64, _csrf: 128 } as const;

const VERIFICATION_ERRORS: Record<number, string> = {
  401: 'login_required',
  403: 'invalid_csrf_token; access_denied on approve and deny when the host no longer accepts the user (validateUser)',
  404: 'invalid_user_code (counted against the guessing limit)',
  409: 'code_already_used',
  410: 'expired_token',
  429: 'temporarily_unavailable: too many wrong codes (Retry-After)',
};

/** The API's own wording where the pages' speaks of a form that a program never saw. */
const API_DESCRIPTIONS = new Map([
  ['invalid_csrf_token', 'The CSRF token is missing or not the one for this session. Get it from GET /device/api/session and send it in the X-CSRF-Token header or the _csrf field.'],
]);

/** The JSON answers of the verification API: `{error, error_description}` with the status. */
@Catch()
export class VerificationApiExceptionFilter implements ExceptionFilter {
  private readonly fallback: OAuthExceptionFilter;

  constructor(private readonly adapterHost: HttpAdapterHost) {
    this.fallback = new OAuthExceptionFilter(adapterHost);
  }

  catch(exception: unknown, host: ArgumentsHost): void {
    if (!(exception instanceof VerificationError)) return this.fallback.catch(exception, host);
    const http = this.adapterHost.httpAdapter;
    const response = host.switchToHttp().getResponse();
    for (const [name, value] of Object.entries({ ...exception.headers, 'Cache-Control': 'no-store' })) http.setHeader(response, name, value);
    const description = API_DESCRIPTIONS.get(exception.error) ?? `${exception.title}. ${exception.detail}`;
    http.reply(response, { error: exception.error, error_description: rfcErrorText(description) }, exception.status);
  }
}

/**
 * The verification steps as JSON, for hosts with their own front end. The same rules as the
 * HTML pages, from the same service: the signed-in user, a CSRF token (header `X-CSRF-Token`
 * or `_csrf`), the guessing limit, and one final decision per code.
 */
@ApiTags('Verification API')
@Controller('device/api')
@UseFilters(VerificationApiExceptionFilter)
export class VerificationApiController {
  constructor(
    private readonly verification: VerificationService,
    @Inject(DEVICE_AUTH_CONFIG) private readonly config: DeviceAuthConfig,
  ) {}

  /** Who is signed in and the CSRF token to send back; 401 with where to sign in otherwise. */
  @Get('session')
  @ApiOperation({ summary: 'Who is signed in, and the CSRF token for the other calls' })
  @ApiOkResponse({ type: SessionBody })
  @ApiResponse({ status: 401, description: 'login_required', type: OAuthErrorBody })
  @Header('Cache-Control', 'no-store')
  async session(@Req() request: DeviceAuthRequest): Promise<{ user: { id: string; display_name: string }; csrf_token: string }> {
    const user = await this.verification.requireUser(request);
    return { user: { id: user.id, display_name: user.displayName ?? user.id }, csrf_token: this.verification.csrfToken(user) };
  }

  /** What the person is about to allow: client, scopes, and where and when the device asked. */
  @Post('lookup')
  @ApiJsonEndpoint('Look a user code up: client, scopes, where and when the device asked', VerificationParams, LookupBody, VERIFICATION_ERRORS)
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  async lookup(@Req() request: DeviceAuthRequest, @Body() body: unknown) {
    const { user, userCode } = await this.authorized(request, body);
    const { code, client } = await this.verification.lookUp(user, clientIp(request), userCode);
    return {
      user_code: formatUserCode(code.userCode),
      client: { client_id: client.clientId, name: client.name },
      scopes: parseScope(code.scope).map((scope) => ({ scope, description: this.config.scopeDescriptions[scope] ?? null })),
      requested_at: new Date(code.createdAt).toISOString(),
      expires_at: new Date(code.expiresAt).toISOString(),
      requester_ip: code.requesterIp,
      requester_user_agent: code.requesterUserAgent,
    };
  }

  @Post('approve')
  @ApiJsonEndpoint('Approve the code for the signed-in user', VerificationParams, DecisionBody, VERIFICATION_ERRORS)
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  approve(@Req() request: DeviceAuthRequest, @Body() body: unknown) {
    return this.decide('approve', request, body);
  }

  @Post('deny')
  @ApiJsonEndpoint('Deny the code', VerificationParams, DecisionBody, VERIFICATION_ERRORS)
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  deny(@Req() request: DeviceAuthRequest, @Body() body: unknown) {
    return this.decide('deny', request, body);
  }

  private async decide(decision: Decision, request: DeviceAuthRequest, body: unknown) {
    const { user, userCode } = await this.authorized(request, body);
    const { clientId, clientName } = await this.verification.decide(decision, user, clientIp(request), userCode);
    return { status: decision === 'approve' ? 'approved' : 'denied', client: { client_id: clientId, name: clientName } };
  }

  /** Signed in, with a valid CSRF token from the header or the body. */
  private async authorized(request: DeviceAuthRequest, body: unknown) {
    assertParamsMediaType(request.headers);
    const params = readParams(body, PARAMS);
    const user = await this.verification.requireUser(request);
    this.verification.assertCsrf(user, headerValue(request.headers, 'x-csrf-token') ?? params._csrf);
    return { user, userCode: params.user_code ?? '' };
  }
}
