import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { DEVICE_AUTH_CONFIG } from '../device-auth.constants';
import type { DeviceAuthConfig } from '../device-auth.options';
import { describe } from '../oauth/oauth-exception.filter';
import { DeviceCodeStore } from './device-code.store';
import { RefreshTokenStore } from './refresh-token.store';

/** Runs `purgeExpired()` every `purgeIntervalSeconds`; harmless when several instances do it. */
@Injectable()
export class PurgeScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('DeviceAuth');
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly store: DeviceCodeStore,
    private readonly refreshTokens: RefreshTokenStore,
    @Inject(DEVICE_AUTH_CONFIG) private readonly config: DeviceAuthConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.purgeIntervalSeconds === 0) return;
    this.timer = setInterval(() => {
      Promise.all([this.store.purgeExpired(), this.refreshTokens.purgeExpired()]).catch((error: unknown) =>
        this.logger.warn(`purge failed: ${describe(error)}`),
      );
    }, this.config.purgeIntervalSeconds * 1000);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }
}
