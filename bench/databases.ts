import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { databaseOptions } from '../src/demo/database.options';
import { MARIADB_SERVER_URL, mariadbQuery } from '../test/support/mariadb';
import { onCleanup } from './cleanup';

export type DatabaseKind = 'sqlite' | 'mariadb';

/** A fresh database for one database × adapter run: its own DATA_DIR, and on MariaDB its own schema. */
export interface BenchDatabase {
  readonly kind: DatabaseKind;
  /** DATA_DIR and, on MariaDB, DATABASE_URL for the demo server. */
  readonly env: Record<string, string>;
  /** A connection of the benchmark's own (migrated, as the server would), for preloading and counting. */
  readonly dataSource: DataSource;
  dispose(): Promise<void>;
}

export async function createBenchDatabase(kind: DatabaseKind, label: string): Promise<BenchDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), `nda-bench-${label}-`));
  const removeDir = onCleanup(`remove ${dataDir}`, () => rmSync(dataDir, { recursive: true, force: true }));
  let databaseUrl: string | undefined;
  let drop = async () => {};
  if (kind === 'mariadb') {
    const name = `nda_bench_${Date.now()}_${label.replace(/\W/g, '_')}`;
    await mariadbQuery(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    drop = onCleanup(`drop database ${name}`, () => mariadbQuery(`DROP DATABASE IF EXISTS \`${name}\``));
    databaseUrl = `${MARIADB_SERVER_URL.replace(/\/+$/, '')}/${name}`;
  }
  // The same options the demo builds, so the file path and the schema are the server's own.
  const dataSource = new DataSource(databaseOptions({ dataDir, databaseUrl }));
  await dataSource.initialize();
  const close = onCleanup('close the benchmark connection', async () => {
    if (dataSource.isInitialized) await dataSource.destroy();
  });
  await dataSource.runMigrations();
  return {
    kind,
    env: { DATA_DIR: dataDir, ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) },
    dataSource,
    dispose: async () => {
      await close();
      await drop();
      await removeDir();
    },
  };
}

/** Makes sure MariaDB answers, starting it the way .ci/run does when it does not. */
export async function ensureMariadb(): Promise<void> {
  if (await answers()) return;
  console.log(`MariaDB at ${MARIADB_SERVER_URL} is not answering; starting it (start-stop-daemon ... /usr/sbin/mariadbd)`);
  execFileSync('start-stop-daemon', ['--start', '--oknodo', '--background', '--exec', '/usr/sbin/mariadbd'], { stdio: 'inherit' });
  for (let i = 0; i < 60; i++) {
    if (await answers()) return;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  throw new Error(`MariaDB at ${MARIADB_SERVER_URL} still does not answer; start it, or run with --sqlite-only`);
}

async function answers(): Promise<boolean> {
  try {
    await mariadbQuery('SELECT 1');
    return true;
  } catch {
    return false;
  }
}
