import { Body, Controller, Header, HttpCode, Inject, Logger, Post, Req, UseFilters } from '@nestjs/common';
import { authenticateClient } from '../clients/client-authenticator';
import { ClientRegistry } from '../clients/client.interface';
import { CLIENT_REGISTRY, TOKEN_ISSUER } from '../device-auth.constants';
import { assertParamsMediaType, headerValue, readParams } from '../http/request-params';
import { OAuthExceptionFilter } from '../oauth/oauth-exception.filter';
import {
  AccessDeniedError,
  AuthorizationPendingError,
  ExpiredTokenError,
  InvalidGrantError,
  InvalidRequestError,
  SlowDownError,
  UnsupportedGrantTypeError,
} from '../oauth/oauth.errors';
import { DeviceCodeStore } from '../store/device-code.store';
import { DeviceAuthRequest } from '../users/user-resolver.interface';
import { IssuedTokens, TokenIssuer } from './token-issuer.interface';

export const DEVICE_CODE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';

const TOKEN_PARAMS = { grant_type: 128, device_code: 128, client_id: 128, client_secret: 512 } as const;

/** `POST /oauth/token` for the device code grant (RFC 8628 §3.4, §3.5). */
@Controller('oauth')
@UseFilters(OAuthExceptionFilter)
export class TokenController {
  private readonly logger = new Logger('DeviceAuth');

  constructor(
    private readonly store: DeviceCodeStore,
    @Inject(CLIENT_REGISTRY) private readonly clients: ClientRegistry,
    @Inject(TOKEN_ISSUER) private readonly issuer: TokenIssuer,
  ) {}

  @Post('token')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @Header('Pragma', 'no-cache')
  async token(@Req() request: DeviceAuthRequest, @Body() body: unknown): Promise<IssuedTokens> {
    assertParamsMediaType(request.headers);
    const params = readParams(body, TOKEN_PARAMS);
    if (params.grant_type === undefined) throw new InvalidRequestError('The grant_type parameter is required.');
    if (params.grant_type !== DEVICE_CODE_GRANT_TYPE) {
      throw new UnsupportedGrantTypeError(`Only the device code grant (${DEVICE_CODE_GRANT_TYPE}) is supported here.`);
    }
    const client = await authenticateClient(this.clients, headerValue(request.headers, 'authorization'), params);
    if (params.device_code === undefined) throw new InvalidRequestError('The device_code parameter is required.');

    const result = await this.store.pollDeviceCode(params.device_code, client.clientId);
    switch (result.outcome) {
      case 'issue': {
        const { userId, clientId, scope } = result.code;
        const tokens = await this.issuer.issue({ userId: userId!, clientId, scope });
        this.logger.log(`device code redeemed: client=${clientId} user=${userId}`);
        return tokens;
      }
      case 'authorization_pending':
        throw new AuthorizationPendingError('The user has not yet approved or denied this request.');
      case 'slow_down':
        throw new SlowDownError(`Polling too fast; wait at least ${result.interval} seconds between requests.`, result.interval);
      case 'access_denied':
        throw new AccessDeniedError('The user denied the request.');
      case 'expired_token':
        throw new ExpiredTokenError('The device code has expired; start a new device authorization.');
      case 'invalid_grant':
        throw new InvalidGrantError(
          result.reason === 'consumed' ? 'The device code has already been used.' : 'The device code is not valid for this client.',
        );
    }
  }
}
