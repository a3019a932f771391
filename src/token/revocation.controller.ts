import { Body, Controller, Header, HttpCode, Inject, Post, Req, UseFilters } from '@nestjs/common';
import { authenticateClient } from '../clients/client-authenticator';
import { ClientRegistry } from '../clients/client.interface';
import { DEVICE_AUTH_CONFIG } from '../device-auth.constants';
import type { DeviceAuthConfig } from '../device-auth.options';
import { assertParamsMediaType, headerValue, readParams } from '../http/request-params';
import { OAuthExceptionFilter } from '../oauth/oauth-exception.filter';
import { InvalidClientError, InvalidRequestError, UnsupportedTokenTypeError } from '../oauth/oauth.errors';
import { RefreshTokenStore } from '../store/refresh-token.store';
import { ApiTags } from '@nestjs/swagger';
import { ApiJsonEndpoint } from '../openapi/openapi.decorators';
import { IntrospectionBody, TokenParam } from '../openapi/openapi.models';
import { DeviceAuthEvents } from '../events/device-auth.events';
import { DeviceAuthRequest } from '../users/user-resolver.interface';
import { TokenIssuer } from './token-issuer.interface';

const PARAMS = { token: 4096, token_type_hint: 64, client_id: 128, client_secret: 512 } as const;

export interface IntrospectionResponse {
  active: boolean;
  [claim: string]: unknown;
}

/** RFC 7009 revocation and RFC 7662 introspection. */
@ApiTags('OAuth')
@Controller('oauth')
@UseFilters(OAuthExceptionFilter)
export class RevocationController {

  constructor(
    private readonly refreshTokens: RefreshTokenStore,
    private readonly events: DeviceAuthEvents,
    @Inject(ClientRegistry) private readonly clients: ClientRegistry,
    @Inject(TokenIssuer) private readonly issuer: TokenIssuer,
    @Inject(DEVICE_AUTH_CONFIG) private readonly config: DeviceAuthConfig,
  ) {}

  /**
   * Revoking a refresh token revokes its whole family. Unknown tokens and other clients' tokens
   * get the same 200, so the endpoint tells nobody which tokens exist. The client's own access
   * tokens are short-lived signed JWTs that cannot be recalled: `unsupported_token_type`.
   */
  @Post('revoke')
  @ApiJsonEndpoint('Revoke a refresh token and its family (RFC 7009)', TokenParam, Object, {
    400: "unsupported_token_type for the client's own access token; invalid_request",
    401: 'invalid_client',
  })
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  async revoke(@Req() request: DeviceAuthRequest, @Body() body: unknown): Promise<Record<string, never>> {
    const { token, client } = await this.read(request, body);
    const refresh = await this.refreshTokens.find(token, client.clientId);
    if (refresh) {
      if ((await this.refreshTokens.revokeFamily(refresh.familyId)) > 0) this.events.emit('refresh_token.revoked', { clientId: client.clientId, userId: refresh.userId });
      return {};
    }
    // Only for the client's own access token: telling another client would confirm the token is valid.
    if (await this.isAccessTokenOf(token, client.clientId)) {
      throw new UnsupportedTokenTypeError('Access tokens cannot be revoked; they expire by themselves. Revoke the refresh token.');
    }
    return {};
  }

  /** For resource servers holding a confidential client: is this token active, and for whom. */
  @Post('introspect')
  @ApiJsonEndpoint('Introspect a token, for confidential clients (RFC 7662)', TokenParam, IntrospectionBody, { 401: 'invalid_client, or a public client' })
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  async introspect(@Req() request: DeviceAuthRequest, @Body() body: unknown): Promise<IntrospectionResponse> {
    const { token, client, usedBasic } = await this.read(request, body);
    if (client.secretHash === undefined) throw new InvalidClientError('Introspection needs a confidential client.', usedBasic);
    try {
      const claims = await this.issuer.verify(token);
      return { active: true, token_type: 'Bearer', ...claims };
    } catch {
      // Not a valid access token: maybe a refresh token.
    }
    const refresh = await this.refreshTokens.find(token);
    if (!refresh || refresh.status !== 'active' || refresh.isExpired(this.config.clock.now())) return { active: false };
    return {
      active: true,
      client_id: refresh.clientId,
      sub: refresh.userId,
      scope: refresh.scope,
      iat: Math.floor(refresh.createdAt / 1000),
      exp: Math.floor(refresh.expiresAt / 1000),
    };
  }

  private async read(request: DeviceAuthRequest, body: unknown) {
    assertParamsMediaType(request.headers);
    const params = readParams(body, PARAMS);
    const authorization = headerValue(request.headers, 'authorization');
    const client = await authenticateClient(this.clients, authorization, params);
    if (params.token === undefined) throw new InvalidRequestError('The token parameter is required.');
    return { token: params.token, client, usedBasic: authorization !== undefined };
  }

  private async isAccessTokenOf(token: string, clientId: string): Promise<boolean> {
    try {
      return (await this.issuer.verify(token)).client_id === clientId;
    } catch {
      return false;
    }
  }
}
