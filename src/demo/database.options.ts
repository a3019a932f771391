import { DataSourceOptions } from 'typeorm';
import { deviceAuthEntities, deviceAuthMigrations } from '../index';
import { DemoConfig, sqlitePath } from './demo.config';

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
    connectTimeout: 5000,
    extra: { connectionLimit: 10 },
    ...common,
  };
}
