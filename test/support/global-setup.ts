import { MARIADB_SERVER_URL, mariadbQuery } from './mariadb';

/**
 * Each run gets its own MariaDB database, so runs never collide. Under CI=true (or
 * REQUIRE_MARIADB=1) a MariaDB that does not answer fails the run; elsewhere the MariaDB
 * cases are left out, loudly.
 */
export default async function globalSetup(): Promise<void> {
  const required = process.env.CI === 'true' || process.env.REQUIRE_MARIADB === '1';
  const database = `nda_test_${Date.now()}_${process.pid}`;
  try {
    await mariadbQuery(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  } catch (error) {
    if (required) throw new Error(`MariaDB is required for this run but ${MARIADB_SERVER_URL} did not answer: ${(error as Error).message}`);
    console.warn(`\n!! MariaDB at ${MARIADB_SERVER_URL} is not reachable: the MariaDB cases are NOT run (SQLite only).\n`);
    return;
  }
  process.env.TEST_DATABASE_URL = `${MARIADB_SERVER_URL.replace(/\/+$/, '')}/${database}`;
  process.env.TEST_DATABASE_NAME = database;
}
