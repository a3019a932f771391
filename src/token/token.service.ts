import { Inject, Injectable } from '@nestjs/common';
import { DeviceClient } from '../clients/client.interface';
import { DEVICE_AUTH_CONFIG } from '../device-auth.constants';
import type { DeviceAuthConfig } from '../device-auth.options';
import { InvalidGrantError } from '../oauth/oauth.errors';
import { RefreshTokenStore } from '../store/refresh-token.store';
import { IssuedTokens, TokenGrant, TokenIssuer } from './token-issuer.interface';

/**
 * Turns a grant into the token response: the access token from the (replaceable) issuer, and a
 * refresh token from the store when the client may have one. The host's `validateUser` hook is
 * asked first, so a user disabled after approving gets nothing.
 */
@Injectable()
export class TokenService {
  constructor(
    @Inject(TokenIssuer) private readonly issuer: TokenIssuer,
    private readonly refreshTokens: RefreshTokenStore,
    @Inject(DEVICE_AUTH_CONFIG) private readonly config: DeviceAuthConfig,
  ) {}

  /** Throws invalid_grant when the host no longer accepts the user. */
  async assertUserValid(userId: string): Promise<void> {
    if (!(await this.config.validateUser(userId))) throw new InvalidGrantError('The user of this grant is no longer allowed to sign in.');
  }

  /**
   * Tokens for an approved grant. `refresh` continues a refresh-token family (with the family's
   * original scope, RFC 6749 §6) instead of starting one.
   */
  async issue(grant: TokenGrant, client: DeviceClient, refresh?: { familyId: string; scope: string }): Promise<IssuedTokens> {
    const tokens = await this.issuer.issue(grant);
    if (!client.refreshTokens) return tokens;
    const refreshToken = refresh
      ? await this.refreshTokens.issue({ ...grant, scope: refresh.scope }, refresh.familyId)
      : await this.refreshTokens.issue(grant);
    return { ...tokens, refresh_token: refreshToken };
  }
}
