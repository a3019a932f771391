import { DynamicModule, INestApplication, Module, Provider, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { TypeOrmModule } from '@nestjs/typeorm';
import { generateKeyPairSync } from 'node:crypto';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { deviceAuthEntities, deviceAuthMigrations, DeviceAuthModuleOptions } from '../../src';
import { AdapterKind, DatabaseKind } from './test-app';

/** Options a host would write, with a fresh signing key; `overrides` changes any of them. */
export function hostOptions(overrides: Partial<DeviceAuthModuleOptions> = {}): DeviceAuthModuleOptions {
  return {
    issuer: 'http://host.test',
    clients: [{ clientId: 'host-cli', name: 'Host CLI', scopes: ['read'] }],
    resolveUser: (req) => (req.headers['x-test-user'] ? { id: String(req.headers['x-test-user']) } : null),
    signInUrl: (returnTo) => `/sign-in?to=${encodeURIComponent(returnTo)}`,
    csrfSecret: 'host-csrf-secret-that-is-long-enough-1234',
    signingKeys: [{ privateKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }) }],
    purgeIntervalSeconds: 0,
    ...overrides,
  };
}

/** The host's own TypeORM connection, with the module's entities and migrations. */
export function hostTypeOrm(database: DatabaseKind): DynamicModule {
  return TypeOrmModule.forRoot({
    ...(database === 'mariadb'
      ? { type: 'mysql' as const, url: process.env.TEST_DATABASE_URL, charset: 'utf8mb4_bin' }
      : { type: 'better-sqlite3' as const, database: ':memory:' }),
    entities: deviceAuthEntities,
    migrations: deviceAuthMigrations,
    migrationsRun: true,
  });
}

export interface HostApp {
  app: INestApplication;
  dataSource: DataSource;
  http(): ReturnType<typeof request>;
  /** Empties every table the module owns, for test independence. */
  clearTables(): Promise<void>;
  close(): Promise<void>;
}

const MODULE_TABLES = ['device_codes', 'device_auth_rate_limits', 'refresh_tokens', 'device_auth_clients'];

/** A Nest application of the host's, importing `imports` (the module under test), on either adapter. */
export async function startHostApp(imports: (DynamicModule | Type)[], providers: Provider[] = [], adapter: AdapterKind = 'fastify'): Promise<HostApp> {
  @Module({ imports, providers })
  class HostModule {}
  // abortOnError: false makes a boot failure a rejected promise instead of process.exit.
  const app = await NestFactory.create(HostModule, adapter === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(), { logger: false, abortOnError: false });
  await app.init();
  if (adapter === 'fastify') await app.getHttpAdapter().getInstance().ready();
  const dataSource = app.get(DataSource);
  const clearTables = async () => {
    for (const table of MODULE_TABLES) await dataSource.query(`DELETE FROM ${table}`);
  };
  await clearTables();
  return { app, dataSource, http: () => request(app.getHttpServer()), clearTables, close: () => app.close() };
}
