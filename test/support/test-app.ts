import { INestApplication, LoggerService } from '@nestjs/common';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { createDemoApp } from '../../src/demo/demo.app';
import { readDemoConfig } from '../../src/demo/demo.config';
import { TestClock } from './test-clock';

export type DatabaseKind = 'sqlite' | 'mariadb';
export type AdapterKind = 'fastify' | 'express';

/** The databases this run covers: SQLite always, MariaDB when global setup made a database. */
export const DATABASES: DatabaseKind[] = process.env.TEST_DATABASE_URL ? ['sqlite', 'mariadb'] : ['sqlite'];
export const ADAPTERS: AdapterKind[] = ['fastify', 'express'];
/** Every database on every adapter, for `describe.each`. */
export const MATRIX: [DatabaseKind, AdapterKind][] = DATABASES.flatMap((db) => ADAPTERS.map((a) => [db, a] as [DatabaseKind, AdapterKind]));

export const CONFIDENTIAL_SECRET = 'confidential-secret-0123456789';

/** Clients every test app has: the public demo CLI and a confidential TV app. */
export const TEST_CLIENTS = [
  { clientId: 'demo-cli', name: 'Demo CLI', scopes: ['read', 'write'] },
  { clientId: 'tv-app', name: 'Living Room TV', scopes: ['read'], secret: CONFIDENTIAL_SECRET },
  { clientId: 'refresh-cli', name: 'Refreshing CLI', scopes: ['read', 'write'], refreshTokens: true },
];

export interface TestApp {
  app: INestApplication;
  clock: TestClock;
  dataSource: DataSource;
  /** DATA_DIR of this app: the SQLite file and demo-secrets.json (the signing key). */
  dataDir: string;
  /** A supertest agent on the in-process server. */
  http(): ReturnType<typeof request>;
  /** Empties every table the module owns, for test independence. */
  clearTables(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The demo application, built exactly as `npm start` builds it (same config reader, same
 * bootstrap, migrations run), on a chosen database and adapter, with a hand-moved clock.
 * `env` takes the SPEC's environment variables.
 */
export async function startTestApp(
  database: DatabaseKind,
  adapter: AdapterKind,
  env: Record<string, string> = {},
  logger: LoggerService | false = false,
): Promise<TestApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'nda-test-'));
  const config = readDemoConfig({
    DATA_DIR: dataDir,
    HTTP_ADAPTER: adapter,
    DEVICE_AUTH_CLIENTS: JSON.stringify(TEST_CLIENTS),
    DEMO_USERS: 'alice:alice-password,bob:bob-password',
    PUBLIC_URL: 'http://device.test',
    DEVICE_AUTHORIZATION_RATE_LIMIT: '0',
    ...(database === 'mariadb' ? { DATABASE_URL: process.env.TEST_DATABASE_URL! } : {}),
    ...env,
  });
  const clock = new TestClock();
  const app = await createDemoApp(config, { clock }, logger);
  await app.init();
  if (adapter === 'fastify') await app.getHttpAdapter().getInstance().ready();
  const dataSource = app.get(DataSource);
  const testApp: TestApp = {
    app,
    clock,
    dataSource,
    dataDir,
    http: () => request(app.getHttpServer()),
    clearTables: async () => {
      await dataSource.query('DELETE FROM device_codes');
      await dataSource.query('DELETE FROM device_auth_rate_limits');
      await dataSource.query('DELETE FROM refresh_tokens');
    },
    close: async () => {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  await testApp.clearTables();
  return testApp;
}
