import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { StaticClientRegistry } from './clients/static-client.registry';
import { CLIENT_REGISTRY, DEVICE_AUTH_CONFIG, TOKEN_ISSUER, USER_RESOLVER } from './device-auth.constants';
import { ConfigurableDeviceAuthModule, DEVICE_AUTH_MODULE_OPTIONS } from './device-auth.module-definition';
import { DeviceAuthConfig, DeviceAuthModuleOptions, resolveConfig } from './device-auth.options';
import { DeviceController } from './device/device.controller';
import { DevicePagesRenderer } from './device/device-pages.renderer';
import { VerificationService } from './device/verification.service';
import { DeviceCode } from './entities/device-code.entity';
import { PreRoutingErrorsFilter } from './http/pre-routing-errors.filter';
import { RateLimitCounter } from './entities/rate-limit.entity';
import { RefreshToken } from './entities/refresh-token.entity';
import { RateLimiter } from './limits/rate-limiter.service';
import { MetadataController } from './metadata/metadata.controller';
import { DeviceCodeStore } from './store/device-code.store';
import { PurgeScheduler } from './store/purge.scheduler';
import { RefreshTokenStore } from './store/refresh-token.store';
import { DeviceAuthGuard } from './token/device-auth.guard';
import { JwtTokenIssuer } from './token/jwt-token.issuer';
import { RevocationController } from './token/revocation.controller';
import { TokenController } from './token/token.controller';
import { TokenService } from './token/token.service';
import { TokenIssuer } from './token/token-issuer.interface';
import { UserResolver } from './users/user-resolver.interface';

/**
 * The device authorization grant for a Nest application. The host owns the TypeORM connection
 * (with `deviceAuthEntities` and `deviceAuthMigrations`); this module adds the endpoints, the
 * verification pages and the `DeviceCodeStore`.
 */
@Module({
  imports: [TypeOrmModule.forFeature([DeviceCode, RateLimitCounter, RefreshToken])],
  controllers: [DeviceController, TokenController, RevocationController, MetadataController],
  providers: [
    {
      provide: DEVICE_AUTH_CONFIG,
      inject: [DEVICE_AUTH_MODULE_OPTIONS],
      useFactory: (options: DeviceAuthModuleOptions): DeviceAuthConfig => resolveConfig(options),
    },
    {
      provide: CLIENT_REGISTRY,
      inject: [DEVICE_AUTH_CONFIG],
      useFactory: (config: DeviceAuthConfig) => new StaticClientRegistry(config.clients),
    },
    {
      provide: USER_RESOLVER,
      inject: [DEVICE_AUTH_MODULE_OPTIONS],
      useFactory: (options: DeviceAuthModuleOptions): UserResolver => ({ resolveUser: options.resolveUser, signInUrl: options.signInUrl }),
    },
    {
      provide: TOKEN_ISSUER,
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
    DeviceCodeStore,
    RefreshTokenStore,
    TokenService,
    RateLimiter,
    VerificationService,
    DevicePagesRenderer,
    PurgeScheduler,
    DeviceAuthGuard,
    // Global, but it only answers for the module's own routes; see the class.
    { provide: APP_FILTER, useClass: PreRoutingErrorsFilter },
  ],
  exports: [DeviceCodeStore, TOKEN_ISSUER, DeviceAuthGuard, DEVICE_AUTH_CONFIG],
})
export class DeviceAuthModule extends ConfigurableDeviceAuthModule {}
