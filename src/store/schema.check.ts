import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { QueryFailedError, Repository } from 'typeorm';
import { DeviceCode } from '../entities/device-code.entity';
import { databaseErrorSummary, isDatabaseUnavailable } from './db-errors';

/** Every table the module reads or writes; `deviceAuthMigrations` creates them all. */
export const DEVICE_AUTH_TABLES = ['device_codes', 'device_auth_rate_limits', 'refresh_tokens', 'device_auth_clients'] as const;

/**
 * At boot, one query per table that reads no rows, so that forgotten migrations stop the app
 * with what to do instead of a 500 on the first request. It runs once: a database that goes
 * away later is the health check's business. One that does not answer at this moment only gets
 * a warning, since TypeORM has just connected to it: that is a blink, not a missing schema.
 */
@Injectable()
export class SchemaCheck implements OnApplicationBootstrap {
  private readonly logger = new Logger('DeviceAuth');

  // The module's own repository, so the check runs on the connection the module uses.
  constructor(@InjectRepository(DeviceCode) private readonly codes: Repository<DeviceCode>) {}

  async onApplicationBootstrap(): Promise<void> {
    for (const table of DEVICE_AUTH_TABLES) {
      try {
        await this.codes.query(`SELECT 1 FROM ${table} WHERE 1 = 0`);
      } catch (error) {
        if (isMissingTable(error)) {
          throw new Error(
            `DeviceAuthModule: table ${table} is missing; add deviceAuthMigrations to your TypeORM migrations (with migrationsRun: true) or run them with the TypeORM CLI.`,
          );
        }
        if (!isDatabaseUnavailable(error)) throw error;
        this.logger.warn(`schema check skipped, the database did not answer: ${databaseErrorSummary(error)}`);
        return;
      }
    }
  }
}

/** MySQL/MariaDB ER_NO_SUCH_TABLE (1146), or SQLite's "no such table". */
function isMissingTable(error: unknown): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const driverError = error.driverError as { errno?: unknown; message?: unknown };
  return driverError.errno === 1146 || (typeof driverError.message === 'string' && driverError.message.startsWith('no such table'));
}
