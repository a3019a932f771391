import { Inject, Injectable } from '@nestjs/common';
import { DeviceClient } from '../clients/client.interface';
import { DEVICE_AUTH_CONFIG } from '../device-auth.constants';
import type { DeviceAuthConfig } from '../device-auth.options';
import { RefreshTokenStore } from '../store/refresh-token.store';
import { IssuedTokens, TokenGrant, TokenIssuer } from './token-issuer.interface';

/**
 * Turns a grant into the token response: the access token from the (replaceable) issuer, and a
 * refresh token from the store when the client may have one; and the host's `validateUser`
 * hook, asked before anything is issued, so a user disabled after approving gets nothing.
 */
@Injectable()
export class TokenService {
  constructor(
    @Inject(TokenIssuer) private readonly issuer: TokenIssuer,
    private readonly refreshTokens: RefreshTokenStore,
    @Inject(DEVICE_AUTH_CONFIG) private readonly config: DeviceAuthConfig,
  ) {}

  /** False when the host's `validateUser` no longer accepts the user. */
  async isUserValid(userId: string): Promise<boolean> {
    return Boolean(await this.config.validateUser(userId));
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

  /**
   * Takes back what `issue` stored for a fresh grant lost to a concurrent request. The refresh
   * token never left the server, so its row is deleted rather than kept, revoked, for 30 days.
   */
  async discard(tokens: IssuedTokens): Promise<void> {
    if (tokens.refresh_token !== undefined) await this.refreshTokens.delete(tokens.refresh_token);
  }
}
