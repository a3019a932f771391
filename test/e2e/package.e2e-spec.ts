import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '../..');

/**
 * What `npm pack` ships, installed the way a host installs it: the tarball unpacked under the
 * host's node_modules, beside the peer dependencies (here linked from this repository's).
 */
describe('the packed library', () => {
  let work: string;
  let files: string[];

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'nda-pack-'));
    // `npm pack` runs prepack, which builds dist/.
    const [packed] = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8' }));
    files = packed.files.map((file: { path: string }) => file.path);
    const modules = join(work, 'host', 'node_modules');
    mkdirSync(join(modules, 'nest-device-auth'), { recursive: true });
    execFileSync('tar', ['-xzf', join(work, packed.filename), '-C', join(modules, 'nest-device-auth'), '--strip-components=1']);
    for (const entry of readdirSync(join(ROOT, 'node_modules'))) {
      if (entry.startsWith('.') || entry === 'nest-device-auth') continue;
      symlinkSync(join(ROOT, 'node_modules', entry), join(modules, entry));
    }
  }, 120000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('contains the library, its type declarations and the CLI, and not the demo, the tests or the sources', () => {
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/login.js']));
    expect(files.filter((file) => file.includes('/demo/') || file.startsWith('test/') || file.startsWith('src/') || file.endsWith('.ts') && !file.endsWith('.d.ts'))).toEqual([]);
  });

  it('boots in a fresh Nest app that imports it by package name', () => {
    // Plain CommonJS, as a host without our build setup would write it.
    writeFileSync(
      join(work, 'host', 'main.js'),
      `
require('reflect-metadata');
const { Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { TypeOrmModule } = require('@nestjs/typeorm');
const { generateKeyPairSync } = require('node:crypto');
const { DeviceAuthModule, deviceAuthEntities, deviceAuthMigrations } = require('nest-device-auth');

class HostModule {}
Module({
  imports: [
    TypeOrmModule.forRoot({ type: 'better-sqlite3', database: ':memory:', entities: deviceAuthEntities, migrations: deviceAuthMigrations, migrationsRun: true }),
    DeviceAuthModule.forRoot({
      issuer: 'https://host.example',
      clients: [{ clientId: 'cli', name: 'CLI', scopes: ['read'] }],
      resolveUser: () => null,
      signInUrl: (to) => '/login?next=' + encodeURIComponent(to),
      csrfSecret: 'a-csrf-secret-of-at-least-32-characters',
      signingKeys: [{ privateKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }) }],
    }),
  ],
})(HostModule);

(async () => {
  const app = await NestFactory.create(HostModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  const base = 'http://127.0.0.1:' + app.getHttpServer().address().port;
  const metadata = await (await fetch(base + '/.well-known/oauth-authorization-server')).json();
  const created = await fetch(base + '/oauth/device_authorization', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'client_id=cli' });
  console.log(JSON.stringify({ issuer: metadata.issuer, status: created.status, verification_uri: (await created.json()).verification_uri }));
  await app.close();
})().catch((error) => { console.error(error); process.exit(1); });
`,
    );
    const output = execFileSync(process.execPath, ['main.js'], { cwd: join(work, 'host'), encoding: 'utf8' });
    expect(JSON.parse(output.trim())).toEqual({ issuer: 'https://host.example', status: 200, verification_uri: 'https://host.example/device' });
  }, 60000);
});
