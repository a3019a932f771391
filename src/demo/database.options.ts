import { DataSourceOptions } from 'typeorm';
import { deviceAuthEntities, deviceAuthMigrations, queryDeadline } from '../index';
import { DemoConfig, sqlitePath } from './demo.config';

/** The longest the demo waits for MySQL/MariaDB to connect or to answer one statement. */
export const MYSQL_TIMEOUT_MS = 5000;

/**
 * The one place the demo's database options are built: the app and the TypeORM CLI's
 * `ormconfig.ts` both call this. Migrations, never `synchronize`.
 */
export function databaseOptions(config: Pick<DemoConfig, 'databaseUrl' | 'dataDir'>): DataSourceOptions {
  const common = { entities: deviceAuthEntities, migrations: deviceAuthMigrations, synchronize: false, logging: false } as const;
  if (!config.databaseUrl) {
    return {
      type: 'better-sqlite3',
      database: sqlitePath(config),
      enableWAL: true,
      // In WAL mode NORMAL syncs at checkpoints rather than on every commit: still never corrupt,
      // and a power cut (not a crash of the process) can lose only the last moments' polls.
      prepareDatabase: (db: { pragma(source: string): unknown }) => {
        db.pragma('synchronous = NORMAL');
      },
      ...common,
    };
  }
  const url = new URL(config.databaseUrl);
  return {
    type: 'mysql',
    host: url.hostname,
    port: url.port ? Number(url.port) : 3306,
    username: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: decodeURIComponent(url.pathname.slice(1)),
    charset: 'utf8mb4_bin',
    // Bounded waits when the database goes away (each failure answers 503): a connection attempt,
    // a query (a peer that stopped answering would otherwise hold it forever), and the queue for
    // a pooled connection. mysql2 3 has no acquire timeout (TypeORM's `acquireTimeout` is ignored,
    // with a warning): a waiter gets the next connection freed, and every connection is freed
    // within these bounds; past `queueLimit` waiters a request fails at once.
    connectTimeout: MYSQL_TIMEOUT_MS,
    subscribers: [queryDeadline(MYSQL_TIMEOUT_MS)],
    extra: { connectionLimit: 10, queueLimit: 100 },
    ...common,
  };
}
