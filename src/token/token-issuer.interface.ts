/** What was approved: the user, the client, and the granted scopes (space-separated). */
export interface TokenGrant {
  userId: string;
  clientId: string;
  scope: string;
}

/** The success body of the token endpoint (RFC 6749 §5.1). */
export interface IssuedTokens {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  refresh_token?: string;
}

/** What a valid access token says. */
export interface VerifiedAccessToken {
  sub: string;
  client_id: string;
  scope: string;
  exp: number;
}

/**
 * Turns an approved grant into tokens. The default signs JWTs; a host may issue API keys or
 * opaque tokens instead by passing its own implementation as the `tokenIssuer` option. The one
 * in use is injectable under the `TokenIssuer` token.
 */
export interface TokenIssuer {
  issue(grant: TokenGrant): Promise<IssuedTokens>;
  /** Checks a bearer token from a request; rejects when it is not valid. */
  verify(accessToken: string): Promise<VerifiedAccessToken>;
  /** Public keys for `/.well-known/jwks.json`, when tokens are signed asymmetrically. */
  jwks?(): Promise<{ keys: object[] }>;
}

/** Injection token for the `TokenIssuer` in use. */
export const TokenIssuer = Symbol('TokenIssuer');
