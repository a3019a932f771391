import { Controller, Get, Header, Inject, NotFoundException } from '@nestjs/common';
import { ClientRegistry } from '../clients/client.interface';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { DEVICE_AUTH_CONFIG } from '../device-auth.constants';
import type { DeviceAuthConfig } from '../device-auth.options';
import { DEVICE_CODE_GRANT_TYPE, REFRESH_TOKEN_GRANT_TYPE } from '../token/token.controller';
import { TokenIssuer } from '../token/token-issuer.interface';

export const JWKS_PATH = '/.well-known/jwks.json';
const AUTH_METHODS = ['none', 'client_secret_basic', 'client_secret_post'];

/** RFC 8414 authorization server metadata, and the public signing keys. */
@ApiTags('Discovery')
@Controller('.well-known')
export class MetadataController {
  constructor(
    @Inject(DEVICE_AUTH_CONFIG) private readonly config: DeviceAuthConfig,
    @Inject(TokenIssuer) private readonly issuer: TokenIssuer,
    @Inject(ClientRegistry) private readonly clients: ClientRegistry,
  ) {}

  @Get('oauth-authorization-server')
  @ApiOperation({ summary: 'Authorization server metadata (RFC 8414)' })
  @ApiOkResponse({ description: 'issuer, endpoints, grant types, auth methods, scopes, jwks_uri' })
  @Header('Cache-Control', 'public, max-age=300')
  async metadata(): Promise<Record<string, unknown>> {
    const scopes = (await this.clients.scopesSupported?.()) ?? [];
    return {
      issuer: this.config.issuer,
      device_authorization_endpoint: `${this.config.issuer}/oauth/device_authorization`,
      token_endpoint: `${this.config.issuer}/oauth/token`,
      grant_types_supported: [DEVICE_CODE_GRANT_TYPE, REFRESH_TOKEN_GRANT_TYPE],
      token_endpoint_auth_methods_supported: AUTH_METHODS,
      revocation_endpoint: `${this.config.issuer}/oauth/revoke`,
      revocation_endpoint_auth_methods_supported: AUTH_METHODS,
      introspection_endpoint: `${this.config.issuer}/oauth/introspect`,
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      scopes_supported: scopes,
      response_types_supported: [],
      ...(this.issuer.jwks ? { jwks_uri: `${this.config.issuer}${JWKS_PATH}` } : {}),
    };
  }

  @Get('jwks.json')
  @ApiOperation({ summary: 'Public keys that verify the access tokens' })
  @ApiOkResponse({ description: '{ keys: JWK[] }' })
  @Header('Cache-Control', 'public, max-age=300')
  async jwks(): Promise<{ keys: object[] }> {
    if (!this.issuer.jwks) throw new NotFoundException();
    return this.issuer.jwks();
  }
}
