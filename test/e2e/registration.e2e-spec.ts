import { Inject, Injectable, Module } from '@nestjs/common';
import { DeviceAuthModule, DeviceAuthModuleOptions, DeviceCodeStore } from '../../src';
import { HostApp, hostOptions, hostTypeOrm, startHostApp } from '../support/host-app';
import { MATRIX } from '../support/test-app';

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
});
