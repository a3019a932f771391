import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DataSource, DataSourceOptions } from 'typeorm';
import { databaseOptions } from '../../src/demo/database.options';
import { DemoConfig, DemoConfigError, readDemoConfig, sqlitePath } from '../../src/demo/demo.config';
import { deviceAuthEntities, deviceAuthMigrations } from '../../src/index';

function configError(env: NodeJS.ProcessEnv): DemoConfigError {
  try {
    readDemoConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(DemoConfigError);
    expect((error as Error).name).toBe('DemoConfigError');
    return error as DemoConfigError;
  }
  throw new Error(`readDemoConfig accepted ${JSON.stringify(env)}`);
}

describe('readDemoConfig defaults', () => {
  it('gives the SPEC defaults for an empty environment', () => {
    const config = readDemoConfig({});
    expect(config).toEqual<DemoConfig>({
      port: 3000,
      host: '127.0.0.1',
      publicUrl: 'http://localhost:3000',
      dataDir: resolve('./data'),
      databaseUrl: undefined,
      clients: [{ clientId: 'demo-cli', name: 'Demo CLI', scopes: ['read', 'write'], refreshTokens: true }],
      users: new Map([['demo', 'demo']]),
      deviceCodeTtlSeconds: undefined,
      pollIntervalSeconds: undefined,
      httpAdapter: 'fastify',
      deviceAuthorizationRateLimit: undefined,
      verificationFailureLimit: undefined,
      purgeIntervalSeconds: undefined,
      purgeBatchSize: undefined,
      purgeRetentionSeconds: undefined,
    });
    expect(config.clients[0].secret).toBeUndefined();
  });

  it('treats empty and blank variables as unset', () => {
    const blank = Object.fromEntries(
      [
        'PORT',
        'HOST',
        'PUBLIC_URL',
        'DATA_DIR',
        'DATABASE_URL',
        'DEVICE_AUTH_CLIENTS',
        'DEMO_USERS',
        'DEVICE_CODE_TTL',
        'DEVICE_POLL_INTERVAL',
        'HTTP_ADAPTER',
        'DEVICE_AUTHORIZATION_RATE_LIMIT',
        'VERIFICATION_FAILURE_LIMIT',
        'PURGE_INTERVAL',
        'PURGE_BATCH_SIZE',
        'PURGE_RETENTION',
      ].map((name, i) => [name, i % 2 ? '' : '   ']),
    );
    expect(readDemoConfig(blank)).toEqual(readDemoConfig({}));
  });
});

describe('readDemoConfig variables', () => {
  it('PORT, and the default PUBLIC_URL follows it', () => {
    const config = readDemoConfig({ PORT: '8080' });
    expect(config.port).toBe(8080);
    expect(config.publicUrl).toBe('http://localhost:8080');
    expect(readDemoConfig({ PORT: ' 4000 ' }).port).toBe(4000);
    expect(readDemoConfig({ PORT: '0' }).port).toBe(0);
    expect(readDemoConfig({ PORT: '65535' }).port).toBe(65535);
  });

  it('HOST', () => {
    expect(readDemoConfig({ HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
    expect(readDemoConfig({ HOST: '::' }).host).toBe('::');
  });

  it('PUBLIC_URL, trailing slashes stripped, independent of PORT', () => {
    expect(readDemoConfig({ PUBLIC_URL: 'https://auth.example.com/' }).publicUrl).toBe('https://auth.example.com');
    expect(readDemoConfig({ PUBLIC_URL: 'https://auth.example.com///' }).publicUrl).toBe('https://auth.example.com');
    expect(readDemoConfig({ PUBLIC_URL: 'https://example.com/auth', PORT: '9000' }).publicUrl).toBe('https://example.com/auth');
  });

  it('DATA_DIR, resolved to an absolute path', () => {
    expect(readDemoConfig({ DATA_DIR: '/var/lib/device-auth' }).dataDir).toBe('/var/lib/device-auth');
    expect(readDemoConfig({ DATA_DIR: 'tmp/data' }).dataDir).toBe(resolve('tmp/data'));
  });

  it('DATABASE_URL (mysql:// and mariadb://)', () => {
    expect(readDemoConfig({ DATABASE_URL: 'mysql://user:pass@db:3306/app' }).databaseUrl).toBe('mysql://user:pass@db:3306/app');
    expect(readDemoConfig({ DATABASE_URL: 'mariadb://user:pass@db/app' }).databaseUrl).toBe('mariadb://user:pass@db/app');
  });

  it('DEVICE_AUTH_CLIENTS, a JSON array', () => {
    const clients = [
      { clientId: 'cli', name: 'My CLI', scopes: ['read'] },
      { clientId: 'tv', name: 'TV', scopes: ['read', 'write'], secret: 'tv-secret-0123456789' },
    ];
    expect(readDemoConfig({ DEVICE_AUTH_CLIENTS: JSON.stringify(clients) }).clients).toEqual(clients);
  });

  it('DEMO_USERS, name:password pairs', () => {
    expect(readDemoConfig({ DEMO_USERS: 'a:b,c:d' }).users).toEqual(
      new Map([
        ['a', 'b'],
        ['c', 'd'],
      ]),
    );
  });

  it('DEMO_USERS, passwords containing ":" keep everything after the first ":"', () => {
    expect(readDemoConfig({ DEMO_USERS: 'alice:pa:ss:word,bob::x' }).users).toEqual(
      new Map([
        ['alice', 'pa:ss:word'],
        ['bob', ':x'],
      ]),
    );
  });

  it('DEMO_USERS, spaces around names are trimmed', () => {
    expect([...readDemoConfig({ DEMO_USERS: 'alice:one, bob:two' }).users.keys()]).toEqual(['alice', 'bob']);
  });

  it('DEVICE_CODE_TTL and DEVICE_POLL_INTERVAL', () => {
    const config = readDemoConfig({ DEVICE_CODE_TTL: '600', DEVICE_POLL_INTERVAL: '2' });
    expect(config.deviceCodeTtlSeconds).toBe(600);
    expect(config.pollIntervalSeconds).toBe(2);
    expect(readDemoConfig({ DEVICE_CODE_TTL: '1', DEVICE_POLL_INTERVAL: '1' })).toMatchObject({ deviceCodeTtlSeconds: 1, pollIntervalSeconds: 1 });
  });

  it('HTTP_ADAPTER', () => {
    expect(readDemoConfig({ HTTP_ADAPTER: 'express' }).httpAdapter).toBe('express');
    expect(readDemoConfig({ HTTP_ADAPTER: 'fastify' }).httpAdapter).toBe('fastify');
  });

  it("DEVICE_AUTHORIZATION_RATE_LIMIT, where '0' turns the limit off", () => {
    expect(readDemoConfig({ DEVICE_AUTHORIZATION_RATE_LIMIT: '120' }).deviceAuthorizationRateLimit).toBe(120);
    expect(readDemoConfig({ DEVICE_AUTHORIZATION_RATE_LIMIT: '0' }).deviceAuthorizationRateLimit).toBe(0);
  });

  it('VERIFICATION_FAILURE_LIMIT', () => {
    expect(readDemoConfig({ VERIFICATION_FAILURE_LIMIT: '3' }).verificationFailureLimit).toBe(3);
  });

  it("PURGE_INTERVAL, PURGE_BATCH_SIZE and PURGE_RETENTION, where '0' turns the purge off or keeps nothing", () => {
    expect(readDemoConfig({ PURGE_INTERVAL: '30', PURGE_BATCH_SIZE: '500', PURGE_RETENTION: '3600' })).toMatchObject({
      purgeIntervalSeconds: 30,
      purgeBatchSize: 500,
      purgeRetentionSeconds: 3600,
    });
    expect(readDemoConfig({ PURGE_INTERVAL: '0', PURGE_RETENTION: '0' })).toMatchObject({ purgeIntervalSeconds: 0, purgeRetentionSeconds: 0 });
  });
});

describe('readDemoConfig refuses bad values, naming the variable', () => {
  it.each([
    ['PORT', 'abc'],
    ['PORT', '-1'],
    ['PORT', '65536'],
    ['PORT', '3000.5'],
    ['PORT', '3e3'],
    ['PORT', '0x10'],
    ['DEVICE_CODE_TTL', '0'],
    ['DEVICE_CODE_TTL', '-5'],
    ['DEVICE_CODE_TTL', 'ten'],
    ['DEVICE_CODE_TTL', '99999999999999999999'],
    ['DEVICE_POLL_INTERVAL', '0'],
    ['DEVICE_POLL_INTERVAL', '1.5'],
    ['DEVICE_AUTHORIZATION_RATE_LIMIT', '-1'],
    ['DEVICE_AUTHORIZATION_RATE_LIMIT', 'off'],
    ['VERIFICATION_FAILURE_LIMIT', '0'],
    ['VERIFICATION_FAILURE_LIMIT', 'many'],
    ['PURGE_INTERVAL', '-1'],
    ['PURGE_BATCH_SIZE', '0'],
    ['PURGE_RETENTION', '1h'],
  ])('%s=%j', (name, value) => {
    const error = configError({ [name]: value });
    expect(error.message.startsWith(`${name}: must be a whole number from `)).toBe(true);
    expect(error.message).toContain(`(got "${value}")`);
  });

  it('gives the range in the message', () => {
    expect(configError({ PORT: '70000' }).message).toBe('PORT: must be a whole number from 0 to 65535 (got "70000").');
    expect(configError({ DEVICE_CODE_TTL: '0' }).message).toBe('DEVICE_CODE_TTL: must be a whole number from 1 (got "0").');
    expect(configError({ DEVICE_AUTHORIZATION_RATE_LIMIT: '-1' }).message).toBe(
      'DEVICE_AUTHORIZATION_RATE_LIMIT: must be a whole number from 0 (got "-1").',
    );
  });

  it.each(['koa', 'Express', 'FASTIFY'])('HTTP_ADAPTER=%j', (adapter) => {
    expect(configError({ HTTP_ADAPTER: adapter }).message).toBe('HTTP_ADAPTER: must be "fastify" or "express".');
  });

  it.each([
    ['not a URL', 'db:3306'],
    ['another protocol', 'postgres://u:p@db:5432/app'],
    ['no database', 'mysql://u:p@db:3306'],
    ['no database (slash only)', 'mysql://u:p@db:3306/'],
  ])('DATABASE_URL that is %s', (_case, url) => {
    expect(configError({ DATABASE_URL: url }).message).toMatch(/^DATABASE_URL: /);
  });

  // new URL() keeps a malformed %-escape as it is, so the URL passes here and databaseOptions()
  // then throws a bare URIError ("URI malformed") that does not name DATABASE_URL.
  it('DATABASE_URL with a malformed %-escape in the password', () => {
    expect(configError({ DATABASE_URL: 'mysql://user:100%@db:3306/app' }).message).toMatch(/^DATABASE_URL: /);
  });

  it.each([
    ['not JSON', '{clientId: cli}'],
    ['a JSON object, not an array', '{"clientId":"cli","name":"CLI","scopes":["read"]}'],
    ['a JSON string', '"cli"'],
  ])('DEVICE_AUTH_CLIENTS that is %s', (_case, raw) => {
    expect(configError({ DEVICE_AUTH_CLIENTS: raw }).message).toMatch(/^DEVICE_AUTH_CLIENTS: /);
  });

  it.each([
    ['no colon', 'alice'],
    ['no name', ':secret'],
    ['no password', 'alice:'],
    ['a blank name', '  :secret'],
    ['an empty entry', 'alice:one,,bob:two'],
    ['a trailing comma', 'alice:one,'],
  ])('DEMO_USERS with %s', (_case, raw) => {
    expect(configError({ DEMO_USERS: raw }).message).toBe('DEMO_USERS: must look like name:password,name2:password2.');
  });
});

// SPEC: "invalid values raise DemoConfigError naming the variable". These values are accepted
// here and only fail later in DeviceAuthModule's resolveConfig, as a DeviceAuthOptionsError
// about "issuer" or "clients" that never names the environment variable to fix.
describe('readDemoConfig validates values it hands to the module', () => {
  it('PUBLIC_URL that is not an http(s) base URL (no URL, ftp://, a query)', () => {
    for (const url of ['auth.example.com', 'ftp://auth.example.com', 'https://auth.example.com/?x=1']) {
      expect(configError({ PUBLIC_URL: url }).message).toMatch(/^PUBLIC_URL: /);
    }
  });

  it('DEVICE_AUTH_CLIENTS whose array is empty or holds something that is not a client', () => {
    for (const raw of [
      '[]',
      '[1, "cli"]',
      '[{"name":"CLI","scopes":["read"]}]',
      '[{"clientId":"cli","name":"CLI","scopes":"read write"}]',
    ]) {
      expect(configError({ DEVICE_AUTH_CLIENTS: raw }).message).toMatch(/^DEVICE_AUTH_CLIENTS: /);
    }
  });
});

describe('sqlitePath', () => {
  it('is device-auth.sqlite in DATA_DIR', () => {
    expect(sqlitePath({ dataDir: '/srv/data' })).toBe(join('/srv/data', 'device-auth.sqlite'));
  });
});

describe('databaseOptions', () => {
  it('embedded SQLite in DATA_DIR when DATABASE_URL is unset, migrations and never synchronize', () => {
    expect(databaseOptions({ dataDir: '/srv/data', databaseUrl: undefined })).toEqual({
      type: 'better-sqlite3',
      database: '/srv/data/device-auth.sqlite',
      enableWAL: true,
      prepareDatabase: expect.any(Function),
      entities: deviceAuthEntities,
      migrations: deviceAuthMigrations,
      synchronize: false,
      logging: false,
    });
  });

  it('syncs SQLite at WAL checkpoints, not on every commit (synchronous = NORMAL)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'nda-sqlite-'));
    const dataSource = new DataSource({ ...databaseOptions({ dataDir, databaseUrl: undefined }), migrations: [] } as DataSourceOptions);
    await dataSource.initialize();
    try {
      expect(await dataSource.query('PRAGMA journal_mode')).toEqual([{ journal_mode: 'wal' }]);
      expect(await dataSource.query('PRAGMA synchronous')).toEqual([{ synchronous: 1 }]); // NORMAL; SQLite's default is FULL (2)
    } finally {
      await dataSource.destroy();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('MySQL from the URL, with a url-encoded user, password and database', () => {
    const options = databaseOptions({
      dataDir: '/srv/data',
      databaseUrl: 'mysql://app%40user:p%40ss%3Aw%2Fo%25rd%20x@db.example.com:3307/my%2Ddb',
    });
    expect(options).toEqual({
      type: 'mysql',
      host: 'db.example.com',
      port: 3307,
      username: 'app@user',
      password: 'p@ss:w/o%rd x',
      database: 'my-db',
      charset: 'utf8mb4_bin',
      connectTimeout: 5000,
      extra: { connectionLimit: 10, queueLimit: 100 },
      subscribers: [expect.any(Function)],
      entities: deviceAuthEntities,
      migrations: deviceAuthMigrations,
      synchronize: false,
      logging: false,
    });
  });

  it('MySQL port defaults to 3306, and mariadb:// is MySQL too', () => {
    const options = databaseOptions({ dataDir: '/srv/data', databaseUrl: 'mariadb://root:root@127.0.0.1/nda' });
    expect(options).toMatchObject({ type: 'mysql', host: '127.0.0.1', port: 3306, username: 'root', password: 'root', database: 'nda' });
  });

  it('works on what readDemoConfig returns', () => {
    const config = readDemoConfig({ DATABASE_URL: 'mysql://u:p%23w@db/app', DATA_DIR: '/srv/data' });
    expect(databaseOptions(config)).toMatchObject({ type: 'mysql', host: 'db', username: 'u', password: 'p#w', database: 'app' });
    expect(databaseOptions(readDemoConfig({ DATA_DIR: '/srv/data' }))).toMatchObject({
      type: 'better-sqlite3',
      database: '/srv/data/device-auth.sqlite',
    });
  });
});

describe('DEMO_USERS duplicates', () => {
  it('refuses a name listed twice instead of silently keeping the last password', () => {
    expect(configError({ DEMO_USERS: 'ann:one,ann:two' }).message).toBe('DEMO_USERS: lists "ann" twice.');
  });
});
