import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { DeviceCode } from '../entities/device-code.entity';
import { databaseErrorSummary } from '../store/db-errors';

/** How long `SELECT 1` may take before the database counts as down. */
export const HEALTH_CHECK_TIMEOUT_MS = 2000;

export interface HealthReport {
  status: 'ok' | 'error';
  database: 'up' | 'down';
}

/**
 * Is the module's database reachable? Behind `GET /health` (see `healthPath`), and exported for
 * hosts that answer health checks themselves (with @nestjs/terminus, say).
 */
@Injectable()
export class DeviceAuthHealth {
  private readonly logger = new Logger('DeviceAuth');

  // The module's own repository, so the check runs on the connection the module uses.
  constructor(@InjectRepository(DeviceCode) private readonly codes: Repository<DeviceCode>) {}

  async check(): Promise<HealthReport> {
    try {
      await withTimeout(this.codes.query('SELECT 1'), HEALTH_CHECK_TIMEOUT_MS);
      return { status: 'ok', database: 'up' };
    } catch (error) {
      this.logger.warn(`health check: database down: ${databaseErrorSummary(error)}`);
      return { status: 'error', database: 'down' };
    }
  }
}

class HealthCheckTimeoutError extends Error {
  override readonly name = 'HealthCheckTimeoutError';
}

/** The work's result, or a rejection once `ms` have passed (the work itself carries on). */
function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HealthCheckTimeoutError(`no answer within ${ms} ms`)), ms);
  });
  // A late failure of the abandoned query must not become an unhandled rejection.
  work.catch(() => undefined);
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
