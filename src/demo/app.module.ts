import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DeviceAuthModule } from '../device-auth.module';
import type { Clock } from '../device-auth.options';
import { ApiController } from './api.controller';
import { databaseOptions } from './database.options';
import { DemoConfig } from './demo.config';
import { DemoSecrets } from './demo-secrets';
import { DemoSessions } from './demo-session';
import { DEMO_ORIGIN, DEMO_USERS, LoginController } from './login.controller';

/** Test-only knobs; the demo server never sets them. */
export interface DemoOverrides {
  clock?: Clock;
}

@Module({})
export class AppModule {
  static forRoot(config: DemoConfig, secrets: DemoSecrets, overrides: DemoOverrides = {}): DynamicModule {
    const sessions = new DemoSessions(secrets.sessionSecret, config.publicUrl.startsWith('https:'));
    return {
      module: AppModule,
      imports: [
        // Migrations run in createDemoApp, under a lock.
        TypeOrmModule.forRoot(databaseOptions(config)),
        DeviceAuthModule.forRoot({
          issuer: config.publicUrl,
          clients: config.clients,
          // A session outlives a user's removal from DEMO_USERS (the cookie is all there is): such a
          // session counts as signed out, so the pages neither greet nor act for a removed user.
          resolveUser: (request) => {
            const user = sessions.resolve(request);
            return user && config.users.has(user.id) ? user : null;
          },
          signInUrl: (returnTo) => `/login?next=${encodeURIComponent(returnTo)}`,
          csrfSecret: secrets.sessionSecret,
          signingKeys: [{ privateKey: secrets.signingKey }],
          deviceCodeTtlSeconds: config.deviceCodeTtlSeconds,
          pollIntervalSeconds: config.pollIntervalSeconds,
          deviceAuthorizationRateLimit: config.deviceAuthorizationRateLimit,
          verificationFailureLimit: config.verificationFailureLimit,
          purgeIntervalSeconds: config.purgeIntervalSeconds,
          purgeBatchSize: config.purgeBatchSize,
          purgeRetentionSeconds: config.purgeRetentionSeconds,
          scopeDescriptions: { read: 'Read your data', write: 'Change your data' },
          // A user removed from DEMO_USERS (or from the running map) gets no more tokens.
          validateUser: (userId) => config.users.has(userId),
          clock: overrides.clock,
        }),
      ],
      controllers: [LoginController, ApiController],
      providers: [
        { provide: DemoSessions, useValue: sessions },
        { provide: DEMO_USERS, useValue: config.users },
        { provide: DEMO_ORIGIN, useValue: new URL(config.publicUrl).origin },
      ],
    };
  }
}
