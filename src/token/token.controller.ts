import { Body, Controller, Header, HttpCode, Inject, Post, Req, UseFilters } from '@nestjs/common';
import { authenticateClient } from '../clients/client-authenticator';
import { ClientRegistry, DeviceClient } from '../clients/client.interface';

import { assertParamsMediaType, headerValue, readParams } from '../http/request-params';
import { OAuthExceptionFilter } from '../oauth/oauth-exception.filter';
import {
  AccessDeniedError,
  AuthorizationPendingError,
  ExpiredTokenError,
  InvalidGrantError,
  InvalidRequestError,
  InvalidScopeError,
  SlowDownError,
  UnsupportedGrantTypeError,
} from '../oauth/oauth.errors';
import { DeviceCodeStore } from '../store/device-code.store';
import { DeviceCode } from '../entities/device-code.entity';
import { ApiTags } from '@nestjs/swagger';
import { ApiJsonEndpoint } from '../openapi/openapi.decorators';
import { OAuthErrorBody, SlowDownErrorBody, TokenBody, TokenParams as TokenParamsModel } from '../openapi/openapi.models';
import { RefreshTokenStore } from '../store/refresh-token.store';
import { DeviceAuthEvents } from '../events/device-auth.events';
import { DeviceAuthRequest } from '../users/user-resolver.interface';
import { IssuedTokens } from './token-issuer.interface';
import { TokenService } from './token.service';

export const DEVICE_CODE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';
export const REFRESH_TOKEN_GRANT_TYPE = 'refresh_token';

const TOKEN_PARAMS = { grant_type: 128, device_code: 128, refresh_token: 128, scope: 1024, client_id: 128, client_secret: 512 } as const;
type TokenParams = Partial<Record<keyof typeof TOKEN_PARAMS, string>>;

/** `POST /oauth/token`: the device code grant (RFC 8628 §3.4, §3.5) and refresh (RFC 6749 §6). */
@ApiTags('OAuth')
@Controller('oauth')
@UseFilters(OAuthExceptionFilter)
export class TokenController {

  constructor(
    private readonly store: DeviceCodeStore,
    private readonly refreshTokens: RefreshTokenStore,
    private readonly tokens: TokenService,
    private readonly events: DeviceAuthEvents,
    @Inject(ClientRegistry) private readonly clients: ClientRegistry,
  ) {}

  @Post('token')
  @ApiJsonEndpoint('Token endpoint: redeem a device code (RFC 8628 §3.4) or refresh (RFC 6749 §6)', TokenParamsModel, TokenBody, {
    400: {
      description: 'authorization_pending, slow_down (with interval), access_denied, expired_token, invalid_grant, invalid_scope, unsupported_grant_type, invalid_request',
      bodies: [OAuthErrorBody, SlowDownErrorBody],
    },
    401: 'invalid_client (with WWW-Authenticate when HTTP Basic was used)',
  })
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @Header('Pragma', 'no-cache')
  async token(@Req() request: DeviceAuthRequest, @Body() body: unknown): Promise<IssuedTokens> {
    assertParamsMediaType(request.headers);
    const params = readParams(body, TOKEN_PARAMS);
    if (params.grant_type === undefined) throw new InvalidRequestError('The grant_type parameter is required.');
    if (params.grant_type !== DEVICE_CODE_GRANT_TYPE && params.grant_type !== REFRESH_TOKEN_GRANT_TYPE) {
      throw new UnsupportedGrantTypeError(`Supported grant types: ${DEVICE_CODE_GRANT_TYPE} and ${REFRESH_TOKEN_GRANT_TYPE}.`);
    }
    const client = await authenticateClient(this.clients, headerValue(request.headers, 'authorization'), params);
    return params.grant_type === DEVICE_CODE_GRANT_TYPE ? this.redeemDeviceCode(client, params) : this.refresh(client, params);
  }

  private async redeemDeviceCode(client: DeviceClient, params: TokenParams): Promise<IssuedTokens> {
    if (params.device_code === undefined) throw new InvalidRequestError('The device_code parameter is required.');
    const result = await this.store.pollDeviceCode(params.device_code, client.clientId);
    switch (result.outcome) {
      case 'authorized':
        return this.redeem(result.code, client);
      case 'authorization_pending':
        throw new AuthorizationPendingError('The user has not yet approved or denied this request.');
      case 'slow_down':
        throw new SlowDownError(`Polling too fast; wait at least ${result.interval} seconds between requests.`, result.interval);
      case 'access_denied':
        throw new AccessDeniedError('The user denied the request.');
      case 'expired_token':
        this.events.emit('device_code.expired_poll', { clientId: client.clientId });
        throw new ExpiredTokenError('The device code has expired; start a new device authorization.');
      case 'invalid_grant':
        throw new InvalidGrantError(
          result.reason === 'consumed' ? 'The device code has already been used.' : 'The device code is not valid for this client.',
        );
    }
  }

  /**
   * Tokens first, then the one conditional UPDATE that consumes the code: if issuing fails (the
   * database blinks), the code stays redeemable and the device's next poll succeeds; if another
   * request consumed it meanwhile, what was issued here is taken back.
   */
  private async redeem(code: DeviceCode, client: DeviceClient): Promise<IssuedTokens> {
    const grant = { userId: code.userId!, clientId: code.clientId, scope: code.scope };
    if (!(await this.tokens.isUserValid(grant.userId))) {
      // Spent all the same: re-enabling the user later does not revive an old approval.
      await this.store.redeem(code);
      throw userRefused();
    }
    const tokens = await this.tokens.issue(grant, client);
    if (!(await this.store.redeem(code))) {
      await this.tokens.discard(tokens);
      throw new InvalidGrantError('The device code has already been used.');
    }
    this.events.emit('device_code.redeemed', grant);
    return tokens;
  }

  /**
   * Rotation: a new token joins the family, then the presented one is used up (exactly once);
   * losing that race means the token was presented twice, and the family is revoked.
   */
  private async refresh(client: DeviceClient, params: TokenParams): Promise<IssuedTokens> {
    if (params.refresh_token === undefined) throw new InvalidRequestError('The refresh_token parameter is required.');
    const result = await this.refreshTokens.check(params.refresh_token, client.clientId, params.scope);
    if (result.outcome === 'invalid_scope') throw new InvalidScopeError(`The scope '${result.scope}' was not granted; a refresh can only narrow the scope.`);
    if (result.outcome === 'invalid_grant') {
      throw new InvalidGrantError(result.reason === 'expired' ? 'The refresh token has expired.' : 'The refresh token is not valid.');
    }
    const { userId, familyId, scope: familyScope } = result.token;
    if (!(await this.tokens.isUserValid(userId))) {
      await this.refreshTokens.revokeFamily(familyId);
      throw userRefused();
    }
    const tokens = await this.tokens.issue({ userId, clientId: client.clientId, scope: result.scope }, client, { familyId, scope: familyScope });
    if (!(await this.refreshTokens.markUsed(result.token))) throw new InvalidGrantError('The refresh token is not valid.');
    this.events.emit('refresh_token.rotated', { clientId: client.clientId, userId });
    return tokens;
  }
}

function userRefused(): InvalidGrantError {
  return new InvalidGrantError('The user of this grant is no longer allowed to sign in.');
}
