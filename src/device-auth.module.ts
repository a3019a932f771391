import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ClientRegistry } from './clients/client.interface';
import { StaticClientRegistry } from './clients/static-client.registry';
import { TypeOrmClientRegistry } from './clients/typeorm-client.registry';
import { DEVICE_AUTH_CONFIG } from './device-auth.constants';
import { ConfigurableDeviceAuthModule, DEVICE_AUTH_MODULE_OPTIONS } from './device-auth.module-definition';
import { DeviceAuthConfig, DeviceAuthModuleOptions, resolveConfig } from './device-auth.options';
import { DefaultPageRenderer } from './device/default-page.renderer';
import { DeviceController } from './device/device.controller';
import { PageRenderer } from './device/page-renderer.interface';
import { VerificationApiController } from './device/verification-api.controller';
import { VerificationService } from './device/verification.service';
import { DeviceAuthClient } from './entities/device-auth-client.entity';
import { DeviceCode } from './entities/device-code.entity';
import { RateLimitCounter } from './entities/rate-limit.entity';
import { RefreshToken } from './entities/refresh-token.entity';
import { DeviceAuthEvents } from './events/device-auth.events';
import { EventLogListener } from './events/event-log.listener';
import { HealthRoute } from './health/health.route';
import { DeviceAuthHealth } from './health/health.service';
import { PreRoutingErrorsFilter } from './http/pre-routing-errors.filter';
import { RateLimiter } from './limits/rate-limiter.service';
import { MetadataController } from './metadata/metadata.controller';
import { DeviceCodeStore } from './store/device-code.store';
import { PurgeScheduler } from './store/purge.scheduler';
import { RefreshTokenStore } from './store/refresh-token.store';
import { SchemaCheck } from './store/schema.check';
import { DeviceAuthGuard } from './token/device-auth.guard';
import { JwtTokenIssuer } from './token/jwt-token.issuer';
import { RevocationController } from './token/revocation.controller';
import { TokenController } from './token/token.controller';
import { TokenIssuer } from './token/token-issuer.interface';
import { TokenService } from './token/token.service';
import { UserResolver } from './users/user-resolver.interface';

/**
 * The device authorization grant for a Nest application. The host owns the TypeORM connection
 * (with `deviceAuthEntities` and `deviceAuthMigrations`); this module adds the endpoints, the
 * verification pages and API, and the stores. Each pluggable part (client registry, user
 * resolver, token issuer, page renderer) is an interface with a same-named injection token,
 * filled from the options or with the default.
 */
@Module({
  imports: [TypeOrmModule.forFeature([DeviceCode, RateLimitCounter, RefreshToken, DeviceAuthClient])],
  controllers: [DeviceController, VerificationApiController, TokenController, RevocationController, MetadataController],
  providers: [
    {
      provide: DEVICE_AUTH_CONFIG,
      inject: [DEVICE_AUTH_MODULE_OPTIONS],
      useFactory: (options: DeviceAuthModuleOptions): DeviceAuthConfig => resolveConfig(options),
    },
    TypeOrmClientRegistry,
    {
      provide: ClientRegistry,
      inject: [DEVICE_AUTH_MODULE_OPTIONS, DEVICE_AUTH_CONFIG, TypeOrmClientRegistry],
      useFactory: (options: DeviceAuthModuleOptions, config: DeviceAuthConfig, database: TypeOrmClientRegistry): ClientRegistry =>
        options.clientRegistry === 'database' ? database : (options.clientRegistry ?? new StaticClientRegistry(config.clients)),
    },
    {
      provide: UserResolver,
      inject: [DEVICE_AUTH_MODULE_OPTIONS, DEVICE_AUTH_CONFIG],
      // The config factory has checked that one of the two forms is complete.
      useFactory: (options: DeviceAuthModuleOptions): UserResolver =>
        options.userResolver ?? { resolveUser: options.resolveUser!, signInUrl: options.signInUrl! },
    },
    {
      provide: TokenIssuer,
      inject: [DEVICE_AUTH_MODULE_OPTIONS, DEVICE_AUTH_CONFIG],
      useFactory: (options: DeviceAuthModuleOptions, config: DeviceAuthConfig): TokenIssuer =>
        options.tokenIssuer ??
        new JwtTokenIssuer({
          issuer: config.issuer,
          audience: config.audience,
          accessTokenTtlSeconds: config.accessTokenTtlSeconds,
          signingKeys: options.signingKeys ?? [],
          now: () => config.clock.now(),
        }),
    },
    {
      provide: PageRenderer,
      inject: [DEVICE_AUTH_MODULE_OPTIONS],
      useFactory: (options: DeviceAuthModuleOptions): PageRenderer => options.pageRenderer ?? new DefaultPageRenderer(),
    },
    DeviceCodeStore,
    RefreshTokenStore,
    TokenService,
    RateLimiter,
    VerificationService,
    DeviceAuthEvents,
    EventLogListener,
    PurgeScheduler,
    SchemaCheck,
    DeviceAuthGuard,
    DeviceAuthHealth,
    HealthRoute,
    // Global, but it only answers for the module's own routes; see the class.
    { provide: APP_FILTER, useClass: PreRoutingErrorsFilter },
  ],
  exports: [
    DEVICE_AUTH_CONFIG,
    DeviceCodeStore,
    RefreshTokenStore,
    DeviceAuthEvents,
    DeviceAuthGuard,
    TokenIssuer,
    ClientRegistry,
    TypeOrmClientRegistry,
    DeviceAuthHealth,
  ],
})
export class DeviceAuthModule extends ConfigurableDeviceAuthModule {}
