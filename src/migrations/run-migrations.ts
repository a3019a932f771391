import { DataSource } from 'typeorm';
import { isMysqlFamily } from '../store/db-errors';

const LOCK_NAME = 'nest_device_auth_migrations';

/**
 * Runs the data source's pending migrations holding a server-wide named lock on MySQL/MariaDB,
 * so that instances starting together on an empty database do not race to create the same
 * tables (`migrationsRun: true` in each would: one wins, the others fail with "already exists").
 * The lock lives on one connection and ends with it, so a crashed instance never leaves it held.
 */
export async function runMigrationsExclusively(dataSource: DataSource, timeoutSeconds = 60): Promise<void> {
  if (!isMysqlFamily(dataSource.options.type)) {
    await dataSource.runMigrations();
    return;
  }
  const runner = dataSource.createQueryRunner();
  try {
    const [{ locked }] = (await runner.query('SELECT GET_LOCK(?, ?) AS locked', [LOCK_NAME, timeoutSeconds])) as { locked: number | string | null }[];
    if (Number(locked) !== 1) {
      throw new Error(`Another instance has held the migration lock '${LOCK_NAME}' for over ${timeoutSeconds} s; check that its migrations finished.`);
    }
    try {
      await dataSource.runMigrations();
    } finally {
      await runner.query('SELECT RELEASE_LOCK(?)', [LOCK_NAME]);
    }
  } finally {
    await runner.release();
  }
}
