import { Inject, Injectable, LoggerService, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { TypeOrmModule } from '@nestjs/typeorm';
import request from 'supertest';
import { DataSource, DataSourceOptions, MigrationInterface } from 'typeorm';
import {
  DeviceAuthModule,
  DeviceAuthModuleOptions,
  DeviceAuthOptionsError,
  DeviceCodeStore,
  deviceAuthEntities,
  deviceAuthMigrations,
  SigningKeyInput,
} from '../../src';
import { HostApp, hostOptions, hostTypeOrm, startHostApp } from '../support/host-app';
import { mariadbQuery } from '../support/mariadb';
import { TcpProxy } from '../support/tcp-proxy';
import { DATABASES, DatabaseKind, MATRIX } from '../support/test-app';

const SETTINGS = Symbol('SETTINGS');

/** A host's own configuration module, as `forRootAsync` would read options from it. */
@Module({ providers: [{ provide: SETTINGS, useValue: { issuer: 'http://configured.test' } }], exports: [SETTINGS] })
class SettingsModule {}

@Injectable()
class OptionsFromSettings {
  constructor(@Inject(SETTINGS) private readonly settings: { issuer: string }) {}
  createDeviceAuthOptions(): DeviceAuthModuleOptions {
    return hostOptions({ issuer: this.settings.issuer });
  }
}

@Module({
  imports: [SettingsModule],
  providers: [OptionsFromSettings],
  exports: [OptionsFromSettings],
})
class OptionsFactoryModule {}

/** A host feature module that never imports DeviceAuthModule: it sees the store only when global. */
@Injectable()
class FeatureService {
  constructor(readonly store: DeviceCodeStore) {}
}
@Module({ providers: [FeatureService] })
class FeatureModule {}

describe.each(MATRIX)('registering DeviceAuthModule on %s with %s', (database, adapter) => {
  let host: HostApp | undefined;
  afterEach(async () => {
    await host?.close();
    host = undefined;
  });

  /** The module answers on the host's server and stores a code in the host's database. */
  async function expectWorking(issuer: string): Promise<void> {
    const metadata = await host!.http().get('/.well-known/oauth-authorization-server');
    expect(metadata.status).toBe(200);
    expect(metadata.body.issuer).toBe(issuer);
    const res = await host!.http().post('/oauth/device_authorization').type('form').send({ client_id: 'host-cli' });
    expect(res.status).toBe(200);
    expect(res.body.verification_uri).toBe(`${issuer}/device`);
    const rows = await host!.dataSource.query('SELECT client_id, scope, status FROM device_codes');
    expect(rows).toEqual([{ client_id: 'host-cli', scope: 'read', status: 'pending' }]);
  }

  it('forRoot(options)', async () => {
    host = await startHostApp([hostTypeOrm(database), DeviceAuthModule.forRoot(hostOptions())], [], adapter);
    await expectWorking('http://host.test');
  });

  it('forRootAsync with useFactory, inject and imports', async () => {
    host = await startHostApp([
      hostTypeOrm(database),
      DeviceAuthModule.forRootAsync({
        imports: [SettingsModule],
        inject: [SETTINGS],
        useFactory: (settings: { issuer: string }) => hostOptions({ issuer: settings.issuer }),
      }),
    ], [], adapter);
    await expectWorking('http://configured.test');
  });

  it('forRootAsync with useClass', async () => {
    host = await startHostApp([
      hostTypeOrm(database),
      DeviceAuthModule.forRootAsync({ imports: [SettingsModule], useClass: OptionsFromSettings }),
    ], [], adapter);
    await expectWorking('http://configured.test');
  });

  it('forRootAsync with useExisting', async () => {
    host = await startHostApp([
      hostTypeOrm(database),
      DeviceAuthModule.forRootAsync({ imports: [OptionsFactoryModule], useExisting: OptionsFromSettings }),
    ], [], adapter);
    await expectWorking('http://configured.test');
  });

  it('isGlobal makes the store injectable in modules that do not import it', async () => {
    host = await startHostApp([hostTypeOrm(database), DeviceAuthModule.forRoot({ ...hostOptions(), isGlobal: true }), FeatureModule], [], adapter);
    const feature = host.app.get(FeatureService);
    expect(feature.store).toBeInstanceOf(DeviceCodeStore);
    const created = await feature.store.createDeviceCode('host-cli', 'read');
    expect(created.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
  });
});

// A boot that fails leaves the host's connection pool behind (Nest never returns the app to close),
// so these run on the in-memory SQLite database only.
describe('DeviceAuthModule registration that must fail at boot', () => {
  const database = 'sqlite' as const;
  const adapter = 'fastify' as const;

  it('without isGlobal the store is not visible outside', async () => {
    await expect(startHostApp([hostTypeOrm(database), DeviceAuthModule.forRoot(hostOptions()), FeatureModule], [], adapter)).rejects.toThrow(
      /DeviceCodeStore/,
    );
  });

  it('refuses bad options at boot with a message that says what to fix', async () => {
    await expect(startHostApp([hostTypeOrm(database), DeviceAuthModule.forRoot(hostOptions({ csrfSecret: 'short' }))], [], adapter)).rejects.toThrow(
      'DeviceAuthModule options: csrfSecret must be a string of at least 32 characters.',
    );
    await expect(
      startHostApp([
        hostTypeOrm(database),
        DeviceAuthModule.forRootAsync({ useFactory: () => hostOptions({ issuer: 'auth.example.com' }) }),
      ], [], adapter),
    ).rejects.toThrow('DeviceAuthModule options: issuer "auth.example.com" is not a URL; give the public base URL, e.g. "https://auth.example.com".');
  });

  it.each([
    ['missing', undefined],
    ['garbage', 'garbage'],
  ])('refuses a signing key that is %s at boot, naming it, instead of 500s on the JWKS and token endpoints', async (_case, privateKey) => {
    const signingKeys = [{ privateKey }] as SigningKeyInput[];
    const failure = await startHostApp([hostTypeOrm(database), DeviceAuthModule.forRoot(hostOptions({ signingKeys }))], [], adapter).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(DeviceAuthOptionsError);
    expect((failure as Error).message).toBe(
      'DeviceAuthModule options: signingKeys[0].privateKey is not a PEM or JWK private key (EC P-256/P-384, RSA or Ed25519).',
    );
  });
});

/** An empty MariaDB database of its own (the run's one is migrated), or a fresh in-memory SQLite. */
function unmigratedDatabase(database: DatabaseKind): DataSourceOptions {
  if (database === 'sqlite') return { type: 'better-sqlite3', database: ':memory:', entities: deviceAuthEntities };
  const url = new URL(process.env.TEST_DATABASE_URL!);
  url.pathname = `/${process.env.TEST_DATABASE_NAME}_unmigrated`;
  return { type: 'mysql', url: url.toString(), charset: 'utf8mb4_bin', entities: deviceAuthEntities };
}

/** The host's TypeORM connection on a DataSource the test holds, so that it can close it after a failed boot. */
function typeOrmOn(dataSource: DataSource) {
  return TypeOrmModule.forRootAsync({ useFactory: () => dataSource.options, dataSourceFactory: async () => dataSource });
}

describe.each(DATABASES)('DeviceAuthModule on %s without its migrations', (database) => {
  const unmigrated = `${process.env.TEST_DATABASE_NAME}_unmigrated`;
  let dataSource: DataSource | undefined;

  beforeEach(async () => {
    if (database === 'mariadb') await mariadbQuery(`CREATE DATABASE \`${unmigrated}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  });
  afterEach(async () => {
    if (dataSource?.isInitialized) await dataSource.destroy();
    dataSource = undefined;
    if (database === 'mariadb') await mariadbQuery(`DROP DATABASE \`${unmigrated}\``);
  });

  async function bootFailure(migrations: (new () => MigrationInterface)[]): Promise<unknown> {
    dataSource = new DataSource({ ...unmigratedDatabase(database), migrations, migrationsRun: true });
    await dataSource.initialize();
    return startHostApp([typeOrmOn(dataSource), DeviceAuthModule.forRoot(hostOptions())]).then(
      () => undefined,
      (error: unknown) => error,
    );
  }

  it('stops the boot naming the missing table and what to add', async () => {
    expect((await bootFailure([])) as Error).toEqual(
      new Error(
        'DeviceAuthModule: table device_codes is missing; add deviceAuthMigrations to your TypeORM migrations (with migrationsRun: true) or run them with the TypeORM CLI.',
      ),
    );
  });

  it('checks every table: with only the first migration, refresh_tokens is the missing one', async () => {
    expect((await bootFailure(deviceAuthMigrations.slice(0, 1))) as Error).toEqual(
      new Error(
        'DeviceAuthModule: table refresh_tokens is missing; add deviceAuthMigrations to your TypeORM migrations (with migrationsRun: true) or run them with the TypeORM CLI.',
      ),
    );
    const tables = await dataSource!.query(
      database === 'sqlite' ? "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'device%' ORDER BY name" : 'SHOW TABLES',
    );
    expect(tables.map((row: Record<string, string>) => Object.values(row)[0]).filter((name: string) => name !== 'migrations').sort()).toEqual([
      'device_auth_rate_limits',
      'device_codes',
    ]);
  });
});

/** Log lines of the app, to see what the boot said. */
class CapturingLogger implements LoggerService {
  readonly warnings: string[] = [];
  log(): void {}
  error(): void {}
  warn(message: unknown): void {
    this.warnings.push(String(message));
  }
}

// TypeORM fails the boot when the database cannot be reached (the demo does too); the schema
// check only runs after it connected, and a database that blinks right then must not stop it.
(DATABASES.includes('mariadb') ? describe : describe.skip)('DeviceAuthModule booting while MariaDB blinks', () => {
  it('boots with a warning when MariaDB stops answering before the schema check, and serves once it is back', async () => {
    const proxy = await TcpProxy.start(Number(new URL(process.env.TEST_DATABASE_URL!).port || 3306));
    const viaProxy = new URL(process.env.TEST_DATABASE_URL!);
    viaProxy.port = String(proxy.port);
    const dataSource = new DataSource({ type: 'mysql', url: viaProxy.toString(), charset: 'utf8mb4_bin', entities: deviceAuthEntities, migrations: deviceAuthMigrations, migrationsRun: true });
    await dataSource.initialize();
    await proxy.cut();

    @Module({ imports: [typeOrmOn(dataSource), DeviceAuthModule.forRoot(hostOptions())] })
    class BlinkingHost {}
    const logger = new CapturingLogger();
    const app = await NestFactory.create(BlinkingHost, new FastifyAdapter(), { logger, abortOnError: false });
    try {
      await app.init();
      // Which of these the driver reports depends on when it noticed the reset connection.
      expect(logger.warnings.filter((line) => line.startsWith('schema check'))).toEqual([
        expect.stringMatching(/^schema check skipped, the database did not answer: (QueryFailedError|Error) \((ECONNRESET|ECONNREFUSED|PROTOCOL_CONNECTION_LOST)\)$/),
      ]);

      await proxy.restore();
      await app.getHttpAdapter().getInstance().ready();
      await dataSource.query('DELETE FROM device_codes');
      const res = await request(app.getHttpServer()).post('/oauth/device_authorization').type('form').send({ client_id: 'host-cli' });
      expect(res.status).toBe(200);
      expect(await dataSource.query('SELECT client_id, status FROM device_codes')).toEqual([{ client_id: 'host-cli', status: 'pending' }]);
      await dataSource.query('DELETE FROM device_codes');
    } finally {
      await app.close();
      await proxy.close();
    }
  });
});
