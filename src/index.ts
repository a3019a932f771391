/** The public API of nest-device-auth. */
export { DeviceAuthModule } from './device-auth.module';
export { DEVICE_AUTH_CONFIG, CLIENT_REGISTRY, TOKEN_ISSUER, USER_RESOLVER } from './device-auth.constants';
export { DeviceAuthOptionsError } from './device-auth.options';
export type { Clock, DeviceAuthConfig, DeviceAuthModuleOptions } from './device-auth.options';
export { DeviceCodeStore } from './store/device-code.store';
export type { DeviceAuthorizationResponse, DeviceRequestContext, PollResult } from './store/device-code.store';
export { DeviceCode, IllegalDeviceCodeTransitionError } from './entities/device-code.entity';
export type { DeviceCodeAction, DeviceCodeStatus } from './entities/device-code.entity';
export { RateLimitCounter } from './entities/rate-limit.entity';
export { RefreshToken } from './entities/refresh-token.entity';
export type { RefreshTokenStatus } from './entities/refresh-token.entity';
export { RefreshTokenStore } from './store/refresh-token.store';
export { CreateRefreshTokens1764790000000 } from './migrations/1764790000000-create-refresh-tokens';
export { CreateDeviceAuthTables1764780000000 } from './migrations/1764780000000-create-device-auth-tables';
export { USER_CODE_PRESETS, formatUserCode, generateUserCode, normalizeUserCode } from './codes/user-code';
export type { UserCodeFormat, UserCodePreset } from './codes/user-code';
export type { ClientRegistry, DeviceClient, DeviceClientConfig } from './clients/client.interface';
export type { DeviceAuthRequest, DeviceAuthUser, UserResolver } from './users/user-resolver.interface';
export type { IssuedTokens, TokenGrant, TokenIssuer, VerifiedAccessToken } from './token/token-issuer.interface';
export { JwtTokenIssuer } from './token/jwt-token.issuer';
export type { SigningKeyInput } from './token/jwt-token.issuer';
export { DeviceAuthGuard, Scopes } from './token/device-auth.guard';
export type { DeviceAuthenticatedRequest } from './token/device-auth.guard';
export * from './oauth/oauth.errors';

import { DeviceCode } from './entities/device-code.entity';
import { RateLimitCounter } from './entities/rate-limit.entity';
import { CreateDeviceAuthTables1764780000000 } from './migrations/1764780000000-create-device-auth-tables';
import { RefreshToken } from './entities/refresh-token.entity';
import { CreateRefreshTokens1764790000000 } from './migrations/1764790000000-create-refresh-tokens';

/** Add these to the host's TypeORM `entities` and `migrations`. */
export const deviceAuthEntities = [DeviceCode, RateLimitCounter, RefreshToken];
export const deviceAuthMigrations = [CreateDeviceAuthTables1764780000000, CreateRefreshTokens1764790000000];
