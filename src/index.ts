/** The public API of nest-device-auth. */
import { DeviceAuthClient } from './entities/device-auth-client.entity';
import { DeviceCode } from './entities/device-code.entity';
import { RateLimitCounter } from './entities/rate-limit.entity';
import { RefreshToken } from './entities/refresh-token.entity';
import { CreateDeviceAuthTables1764780000000 } from './migrations/1764780000000-create-device-auth-tables';
import { CreateRefreshTokens1764790000000 } from './migrations/1764790000000-create-refresh-tokens';
import { CreateDeviceAuthClients1764800000000 } from './migrations/1764800000000-create-device-auth-clients';

// The module and its options
export { DeviceAuthModule } from './device-auth.module';
export { DEVICE_AUTH_MODULE_OPTIONS } from './device-auth.module-definition';
export { DEVICE_AUTH_CONFIG } from './device-auth.constants';
export { DeviceAuthOptionsError } from './device-auth.options';
export type { Clock, DeviceAuthConfig, DeviceAuthModuleOptions } from './device-auth.options';

// Schema: add these to the host's TypeORM `entities` and `migrations`.
export const deviceAuthEntities = [DeviceCode, RateLimitCounter, RefreshToken, DeviceAuthClient];
export const deviceAuthMigrations = [CreateDeviceAuthTables1764780000000, CreateRefreshTokens1764790000000, CreateDeviceAuthClients1764800000000];
export { runMigrationsExclusively } from './migrations/run-migrations';
export { DeviceCode, IllegalDeviceCodeTransitionError } from './entities/device-code.entity';
export type { DeviceCodeAction, DeviceCodeStatus } from './entities/device-code.entity';
export { RateLimitCounter, RefreshToken, DeviceAuthClient };
export type { RefreshTokenStatus } from './entities/refresh-token.entity';
export { CreateDeviceAuthTables1764780000000, CreateRefreshTokens1764790000000, CreateDeviceAuthClients1764800000000 };

// Stores
export { DeviceCodeStore, UserCodesExhaustedError } from './store/device-code.store';
export type { DeviceAuthorizationResponse, DeviceRequestContext, PollResult } from './store/device-code.store';
export { RefreshTokenStore } from './store/refresh-token.store';
export { USER_CODE_PRESETS, formatUserCode, generateUserCode, normalizeUserCode } from './codes/user-code';
export type { UserCodeFormat, UserCodePreset } from './codes/user-code';

// Pluggable parts: each an interface with a same-named injection token
export { ClientRegistry } from './clients/client.interface';
export type { DeviceClient, DeviceClientConfig } from './clients/client.interface';
export { StaticClientRegistry } from './clients/static-client.registry';
export { ClientRegistrationError, TypeOrmClientRegistry } from './clients/typeorm-client.registry';
export type { ClientRegistration } from './clients/typeorm-client.registry';
export { UserResolver } from './users/user-resolver.interface';
export type { DeviceAuthRequest, DeviceAuthUser } from './users/user-resolver.interface';
export { TokenIssuer } from './token/token-issuer.interface';
export type { IssuedTokens, TokenGrant, VerifiedAccessToken } from './token/token-issuer.interface';
export { JwtTokenIssuer } from './token/jwt-token.issuer';
export type { JwtTokenIssuerOptions, SigningKeyInput } from './token/jwt-token.issuer';
export { PageRenderer, STYLESHEET_PATH } from './device/page-renderer.interface';
export type { ConfirmPageModel, EntryPageModel, ErrorPageModel, ResultPageModel } from './device/page-renderer.interface';
export { DefaultPageRenderer } from './device/default-page.renderer';
export { escapeHtml, html, SafeHtml } from './device/html';

// Outages: health checks, a deadline for MySQL queries, telling an outage from a bug
export { DeviceAuthHealth, HEALTH_CHECK_TIMEOUT_MS } from './health/health.service';
export type { HealthReport } from './health/health.service';
export { queryDeadline } from './health/query-deadline.subscriber';
export { addHealthCheckToDocument } from './openapi/openapi.health';
export { isDatabaseUnavailable } from './store/db-errors';

// Protecting host routes, events, errors
export { DeviceAuthGuard, Scopes } from './token/device-auth.guard';
export type { DeviceAuthenticatedRequest } from './token/device-auth.guard';
export { DeviceAuthEvents } from './events/device-auth.events';
export type { DeviceAuthEventListener, DeviceAuthEventMap, DeviceAuthEventName } from './events/device-auth.events';
export * from './oauth/oauth.errors';
