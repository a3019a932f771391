import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { DEVICE_AUTH_CONFIG } from '../device-auth.constants';
import type { DeviceAuthConfig } from '../device-auth.options';
import { UNAVAILABLE_RETRY_AFTER_SECONDS } from '../oauth/oauth-exception.filter';
import { DeviceAuthHealth } from './health.service';

/**
 * `GET {healthPath}` (default `/health`): 200 `{"status":"ok","database":"up"}`, or 503
 * `{"status":"error","database":"down"}` with `Retry-After`. Registered on the HTTP adapter
 * itself rather than as a controller, so that the path can come from async options and be
 * turned off (`healthPath: false`), and so that a load balancer's probe is not stopped by the
 * host's global guards, interceptors or prefix.
 */
@Injectable()
export class HealthRoute implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly health: DeviceAuthHealth,
    @Inject(DEVICE_AUTH_CONFIG) private readonly config: DeviceAuthConfig,
  ) {}

  // Before Nest adds its not-found handler (after the init hooks), so that this route is reached.
  onModuleInit(): void {
    const path = this.config.healthPath;
    if (path === false) return;
    this.adapterHost.httpAdapter.get(path, (_request: unknown, response: unknown) => void this.answer(response));
  }

  private async answer(response: unknown): Promise<void> {
    const http = this.adapterHost.httpAdapter;
    const report = await this.health.check();
    http.setHeader(response, 'Cache-Control', 'no-store');
    if (report.database === 'down') http.setHeader(response, 'Retry-After', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
    http.reply(response, report, report.database === 'up' ? 200 : 503);
  }
}
