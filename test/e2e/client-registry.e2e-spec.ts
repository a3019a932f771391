import { createHash } from 'node:crypto';
import {
  ClientRegistrationError,
  ClientRegistry,
  DefaultPageRenderer,
  DeviceAuthModule,
  DeviceAuthRequest,
  DeviceAuthUser,
  DeviceClient,
  EntryPageModel,
  html,
  TypeOrmClientRegistry,
  UserResolver,
} from '../../src';
import { csrfFrom } from '../support/flow';
import { HostApp, hostOptions, hostTypeOrm, startHostApp } from '../support/host-app';
import { MATRIX } from '../support/test-app';

const GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const START = Date.UTC(2026, 11, 3, 12, 0, 0);
const INVALID_CLIENT = { error: 'invalid_client', error_description: 'Client authentication failed.' };

function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** A clock the test moves by hand. */
function testClock() {
  let now = START;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

type Http = HostApp['http'];

/** The device's first request, form-encoded; `basic` authenticates with HTTP Basic. */
function deviceAuthorization(http: Http, form: Record<string, string>, basic?: [string, string]) {
  const req = http().post('/oauth/device_authorization').type('form');
  return (basic ? req.auth(basic[0], basic[1]) : req).send(form);
}

function pollToken(http: Http, deviceCode: string, form: Record<string, string>, basic?: [string, string]) {
  const req = http().post('/oauth/token').type('form');
  return (basic ? req.auth(basic[0], basic[1]) : req).send({ grant_type: GRANT, device_code: deviceCode, ...form });
}

/** What the host's own front end does: ask the JSON API for the CSRF token, then decide. */
async function decideViaApi(http: Http, user: string, userCode: string, decision: 'approve' | 'deny' = 'approve') {
  const session = await http().get('/device/api/session').set('x-test-user', user);
  expect(session.status).toBe(200);
  expect(session.body).toEqual({ user: { id: user, display_name: user }, csrf_token: expect.any(String) });
  return http().post(`/device/api/${decision}`).set('x-test-user', user).set('X-CSRF-Token', session.body.csrf_token).send({ user_code: userCode });
}

describe.each(MATRIX)("clientRegistry: 'database' on %s with %s", (database, adapter) => {
  let host: HostApp;
  let registry: TypeOrmClientRegistry;
  const clock = testClock();

  beforeAll(async () => {
    host = await startHostApp([hostTypeOrm(database), DeviceAuthModule.forRoot(hostOptions({ clients: undefined, clientRegistry: 'database', clock }))], [], adapter);
    registry = host.app.get(TypeOrmClientRegistry);
  });
  afterAll(() => host.close());
  beforeEach(async () => {
    await host.clearTables();
  });

  async function clientRows(): Promise<Record<string, unknown>[]> {
    const rows: Record<string, unknown>[] = await host.dataSource.query('SELECT * FROM device_auth_clients ORDER BY client_id');
    // BIGINT and BOOLEAN come back as the driver likes (string, number); compare as numbers.
    return rows.map((row) => ({ ...row, created_at: Number(row.created_at), refresh_tokens: Number(row.refresh_tokens) }));
  }

  it('is the registry the module uses', () => {
    expect(host.app.get(ClientRegistry)).toBe(registry);
  });

  it('a confidential client: the secret is returned once and stored only as SHA-256; the whole flow works with it', async () => {
    const registered = await registry.register({ clientId: 'tv', name: 'Living Room TV', scopes: ['read', 'write'], defaultScopes: ['read'], confidential: true, refreshTokens: true });
    expect(registered).toEqual({ clientId: 'tv', clientSecret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    const secret = registered.clientSecret!;

    const rows = await clientRows();
    expect(rows).toEqual([
      { client_id: 'tv', name: 'Living Room TV', scopes: 'read write', default_scopes: 'read', secret_hash: sha256Hex(secret), refresh_tokens: 1, created_at: START },
    ]);
    expect(JSON.stringify(rows)).not.toContain(secret);
    expect(await registry.list()).toEqual([
      { clientId: 'tv', name: 'Living Room TV', scopes: ['read', 'write'], defaultScopes: ['read'], secretHash: sha256Hex(secret), refreshTokens: true },
    ]);

    // Device authorization with HTTP Basic; the default scope.
    const started = await deviceAuthorization(host.http, {}, ['tv', secret]);
    expect(started.status).toBe(200);
    expect(started.body).toEqual({
      device_code: expect.any(String),
      user_code: expect.stringMatching(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/),
      verification_uri: 'http://host.test/device',
      verification_uri_complete: `http://host.test/device?user_code=${encodeURIComponent(started.body.user_code)}`,
      expires_in: 900,
      interval: 5,
    });
    expect(await host.dataSource.query('SELECT client_id, scope, status FROM device_codes')).toEqual([{ client_id: 'tv', scope: 'read', status: 'pending' }]);

    const approved = await decideViaApi(host.http, 'alice', started.body.user_code);
    expect(approved.status).toBe(200);
    expect(approved.body).toEqual({ status: 'approved', client: { client_id: 'tv', name: 'Living Room TV' } });
    expect(await host.dataSource.query('SELECT status, user_id FROM device_codes')).toEqual([{ status: 'authorized', user_id: 'alice' }]);

    // A wrong secret gets nothing, and the code is still there for the right one.
    const wrong = await pollToken(host.http, started.body.device_code, {}, ['tv', `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`]);
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual(INVALID_CLIENT);
    expect(wrong.headers['www-authenticate']).toBe('Basic realm="device-auth", charset="UTF-8"');
    const noSecret = await pollToken(host.http, started.body.device_code, { client_id: 'tv' });
    expect(noSecret.status).toBe(401);
    expect(noSecret.body).toEqual(INVALID_CLIENT);

    const tokens = await pollToken(host.http, started.body.device_code, {}, ['tv', secret]);
    expect(tokens.status).toBe(200);
    expect(tokens.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, scope: 'read', refresh_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    expect(await host.dataSource.query('SELECT status FROM device_codes')).toEqual([{ status: 'consumed' }]);

    // client_secret_post works as well, for the refresh.
    const refreshed = await host.http().post('/oauth/token').type('form').send({ grant_type: 'refresh_token', refresh_token: tokens.body.refresh_token, client_id: 'tv', client_secret: secret });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.scope).toBe('read');
  });

  it('a wrong secret is 401 invalid_client on device authorization, by Basic and in the body', async () => {
    const { clientSecret } = await registry.register({ clientId: 'tv', name: 'TV', scopes: ['read'], confidential: true });
    const basic = await deviceAuthorization(host.http, {}, ['tv', 'not-the-secret-at-all']);
    expect(basic.status).toBe(401);
    expect(basic.body).toEqual(INVALID_CLIENT);
    expect(basic.headers['www-authenticate']).toBe('Basic realm="device-auth", charset="UTF-8"');
    const post = await deviceAuthorization(host.http, { client_id: 'tv', client_secret: clientSecret!.toUpperCase() });
    expect(post.status).toBe(401);
    expect(post.body).toEqual(INVALID_CLIENT);
    expect(post.headers['www-authenticate']).toBeUndefined();
    expect(await host.dataSource.query('SELECT COUNT(*) AS n FROM device_codes').then((r: { n: unknown }[]) => Number(r[0].n))).toBe(0);
  });

  it("the metadata's scopes_supported lists every registered client's scopes", async () => {
    const before = await host.http().get('/.well-known/oauth-authorization-server');
    expect(before.status).toBe(200);
    expect(before.body.scopes_supported).toEqual([]);
    await registry.register({ clientId: 'tv', name: 'TV', scopes: ['read', 'write'], confidential: true });
    await registry.register({ clientId: 'cli', name: 'CLI', scopes: ['read', 'admin:users'] });
    const after = await host.http().get('/.well-known/oauth-authorization-server');
    expect([...after.body.scopes_supported].sort()).toEqual(['admin:users', 'read', 'write']);
    expect(after.body.scopes_supported).toHaveLength(3);
    expect(after.body.token_endpoint_auth_methods_supported).toEqual(['none', 'client_secret_basic', 'client_secret_post']);
  });

  it('registering the same clientId twice is a ClientRegistrationError; the first stays', async () => {
    await registry.register({ clientId: 'x', name: 'First', scopes: ['read'] });
    const second = registry.register({ clientId: 'x', name: 'Second', scopes: ['write'], confidential: true });
    await expect(second).rejects.toBeInstanceOf(ClientRegistrationError);
    await expect(registry.register({ clientId: 'x', name: 'Third', scopes: ['read'] })).rejects.toThrow(new ClientRegistrationError('client "x" already exists.'));
    await expect(registry.register({ clientId: 'x', name: 'Third', scopes: ['read'] })).rejects.toMatchObject({ name: 'ClientRegistrationError', message: 'client "x" already exists.' });
    expect((await clientRows()).map((r) => [r.client_id, r.name, r.secret_hash])).toEqual([['x', 'First', null]]);
  });

  it('an invalid registration is a ClientRegistrationError that names the problem, and stores nothing', async () => {
    const cases: [Parameters<TypeOrmClientRegistry['register']>[0], string][] = [
      [{ clientId: 'nameless', name: '', scopes: ['read'] }, 'client "nameless" needs a name of 1 to 191 characters.'],
      [{ clientId: 'nameless', scopes: ['read'] } as never, 'client "nameless" needs a name of 1 to 191 characters.'],
      [{ clientId: 'quoted', name: 'Q', scopes: ['read"write'] }, 'client "quoted" needs scopes: an array of scope tokens.'],
      [{ clientId: 'spaced', name: 'S', scopes: ['read write'] }, 'client "spaced" needs scopes: an array of scope tokens.'],
      [{ clientId: 'accented', name: 'A', scopes: ['lecture-é'] }, 'client "accented" needs scopes: an array of scope tokens.'],
      [{ clientId: 'defaults', name: 'D', scopes: ['read'], defaultScopes: ['write'] }, 'client "defaults" has default scopes it is not allowed: write.'],
      [{ clientId: '', name: 'Empty id', scopes: ['read'] }, 'each client needs a clientId of 1 to 128 characters.'],
      [{ clientId: 'c'.repeat(129), name: 'Long id', scopes: ['read'] }, 'each client needs a clientId of 1 to 128 characters.'],
    ];
    for (const [registration, message] of cases) {
      const attempt = registry.register(registration);
      await expect(attempt).rejects.toBeInstanceOf(ClientRegistrationError);
      await expect(attempt).rejects.toThrow(message);
    }
    expect(await clientRows()).toEqual([]);
  });

  it('remove(clientId): true, then the client cannot authenticate; removing again is false', async () => {
    const { clientSecret } = await registry.register({ clientId: 'tv', name: 'TV', scopes: ['read'], confidential: true });
    expect((await deviceAuthorization(host.http, {}, ['tv', clientSecret!])).status).toBe(200);
    expect(await registry.remove('tv')).toBe(true);
    expect(await clientRows()).toEqual([]);
    const res = await deviceAuthorization(host.http, {}, ['tv', clientSecret!]);
    expect(res.status).toBe(401);
    expect(res.body).toEqual(INVALID_CLIENT);
    expect(await registry.remove('tv')).toBe(false);
    expect(await registry.remove('never-there')).toBe(false);
  });

  it('a code of a removed client: the lookup says so (410), and it cannot be approved either', async () => {
    await registry.register({ clientId: 'gone', name: 'Gone CLI', scopes: ['read'] });
    const started = await deviceAuthorization(host.http, { client_id: 'gone' });
    expect(started.status).toBe(200);
    expect(await registry.remove('gone')).toBe(true);

    const session = await host.http().get('/device/api/session').set('x-test-user', 'alice');
    const call = (path: string) =>
      host.http().post(`/device/api/${path}`).set('x-test-user', 'alice').set('X-CSRF-Token', session.body.csrf_token).send({ user_code: started.body.user_code });
    const removed = { error: 'invalid_client', error_description: 'This device is no longer allowed. The application that asked for this code has been removed.' };
    const lookup = await call('lookup');
    expect({ status: lookup.status, body: lookup.body }).toEqual({ status: 410, body: removed });
    // Approving must follow the lookup's rule: a code of a removed client is not approvable.
    const approve = await call('approve');
    expect({ status: approve.status, body: approve.body }).toEqual({ status: 410, body: removed });
    expect(await host.dataSource.query('SELECT status, user_id FROM device_codes')).toEqual([{ status: 'pending', user_id: null }]);
  });

  it('a public client (not confidential) has no secret and works with client_id only', async () => {
    const registered = await registry.register({ clientId: 'pub', name: 'Public CLI', scopes: ['read', 'write'] });
    expect(registered).toEqual({ clientId: 'pub' });
    expect(await clientRows()).toEqual([
      { client_id: 'pub', name: 'Public CLI', scopes: 'read write', default_scopes: 'read write', secret_hash: null, refresh_tokens: 0, created_at: START },
    ]);
    const started = await deviceAuthorization(host.http, { client_id: 'pub', scope: 'write' });
    expect(started.status).toBe(200);
    expect((await decideViaApi(host.http, 'bob', started.body.user_code)).status).toBe(200);
    const tokens = await pollToken(host.http, started.body.device_code, { client_id: 'pub' });
    expect(tokens.status).toBe(200);
    expect(tokens.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, scope: 'write' });
    // A public client that sends a secret anyway is refused.
    const withSecret = await deviceAuthorization(host.http, { client_id: 'pub', client_secret: 'some-secret-0123456789' });
    expect(withSecret.status).toBe(401);
    expect(withSecret.body).toEqual({ error: 'invalid_client', error_description: 'This is a public client: send client_id without a secret.' });
  });
});

/** A host's own registry: clients from wherever it keeps them. */
class MemoryClientRegistry implements ClientRegistry {
  readonly asked: string[] = [];
  private readonly clients = new Map<string, DeviceClient>([
    ['mem-cli', { clientId: 'mem-cli', name: 'Memory CLI', scopes: ['read', 'profile'], defaultScopes: ['profile'], refreshTokens: false }],
    ['mem-tv', { clientId: 'mem-tv', name: 'Memory TV', scopes: ['read'], defaultScopes: ['read'], secretHash: sha256Hex('memory-tv-secret-0123456789'), refreshTokens: true }],
  ]);

  async findClient(clientId: string): Promise<DeviceClient | null> {
    this.asked.push(clientId);
    return this.clients.get(clientId) ?? null;
  }

  async scopesSupported(): Promise<string[]> {
    return ['profile', 'read'];
  }
}

/** A host's own wording for the entry page; the other pages stay the default. */
class OurPageRenderer extends DefaultPageRenderer {
  override entry(model: EntryPageModel): string {
    return this.layout(
      'Our own wording',
      html`<h1>Our own wording</h1>
        ${model.problem ? html`<p class="problem">${model.problem}</p>` : ''}
        <form method="post" action="/device">
          <input type="hidden" name="_csrf" value="${model.csrfToken}">
          <input name="user_code" value="${model.userCode ?? ''}">
          <button type="submit">Go on</button>
        </form>`,
      model.user,
    );
  }
}

/** A host's own user resolver object: async, with a display name and a session id. */
class HeaderUserResolver implements UserResolver {
  async resolveUser(request: DeviceAuthRequest): Promise<DeviceAuthUser | null> {
    const id = request.headers['x-test-user'];
    return typeof id === 'string' ? { id, displayName: `${id[0].toUpperCase()}${id.slice(1)} Example`, sessionId: `session-of-${id}` } : null;
  }
  signInUrl(returnTo: string): string {
    return `/sign-in?to=${encodeURIComponent(returnTo)}`;
  }
}

describe.each(MATRIX)('pluggable parts on %s with %s', (database, adapter) => {
  let host: HostApp | undefined;
  afterEach(async () => {
    await host?.close();
    host = undefined;
  });

  it('a custom ClientRegistry object is used', async () => {
    const clients = new MemoryClientRegistry();
    host = await startHostApp([hostTypeOrm(database), DeviceAuthModule.forRoot(hostOptions({ clients: undefined, clientRegistry: clients }))], [], adapter);
    expect(host.app.get(ClientRegistry)).toBe(clients);

    const metadata = await host.http().get('/.well-known/oauth-authorization-server');
    expect(metadata.body.scopes_supported).toEqual(['profile', 'read']);

    const started = await deviceAuthorization(host.http, { client_id: 'mem-cli' });
    expect(started.status).toBe(200);
    expect(await host.dataSource.query('SELECT client_id, scope FROM device_codes')).toEqual([{ client_id: 'mem-cli', scope: 'profile' }]);
    expect(clients.asked).toEqual(['mem-cli']);

    const approved = await decideViaApi(host.http, 'alice', started.body.user_code);
    expect(approved.body).toEqual({ status: 'approved', client: { client_id: 'mem-cli', name: 'Memory CLI' } });
    const tokens = await pollToken(host.http, started.body.device_code, { client_id: 'mem-cli' });
    expect(tokens.status).toBe(200);
    expect(tokens.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, scope: 'profile' });

    // A confidential client of the custom registry: its secret hash is checked.
    const tv = await deviceAuthorization(host.http, {}, ['mem-tv', 'memory-tv-secret-0123456789']);
    expect(tv.status).toBe(200);
    const wrong = await deviceAuthorization(host.http, {}, ['mem-tv', 'memory-tv-secret-XXXXXXXXXX']);
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual(INVALID_CLIENT);
    // The host's clients only: nothing came from the (empty) database table, nothing from the options.
    const unknown = await deviceAuthorization(host.http, { client_id: 'host-cli' });
    expect(unknown.status).toBe(401);
    expect(unknown.body).toEqual(INVALID_CLIENT);
    expect(clients.asked).toContain('host-cli');
  });

  it('a custom userResolver object and a custom pageRenderer are used', async () => {
    host = await startHostApp([
      hostTypeOrm(database),
      DeviceAuthModule.forRoot(
        hostOptions({ resolveUser: undefined, signInUrl: undefined, userResolver: new HeaderUserResolver(), pageRenderer: new OurPageRenderer() }),
      ),
    ], [], adapter);
    const http = host.http;

    const anonymous = await http().get('/device');
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.location).toBe('/sign-in?to=%2Fdevice');
    const anonymousWithCode = await http().get('/device?user_code=BCDF-GHJK');
    expect(anonymousWithCode.status).toBe(303);
    expect(anonymousWithCode.headers.location).toBe('/sign-in?to=%2Fdevice%3Fuser_code%3DBCDF-GHJK');

    const entry = await http().get('/device').set('x-test-user', 'alice');
    expect(entry.status).toBe(200);
    expect(entry.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(entry.text).toContain('<title>Our own wording</title>');
    expect(entry.text).toContain('<h1>Our own wording</h1>');
    expect(entry.text).not.toContain('Connect a device');
    expect(entry.text).toContain('<form method="post" action="/device">');
    expect(entry.text).toContain('Signed in as <strong>Alice Example</strong>');
    const csrf = csrfFrom(entry.text);

    // The session API reports the resolver's display name, and the same CSRF token.
    const session = await http().get('/device/api/session').set('x-test-user', 'alice');
    expect(session.body).toEqual({ user: { id: 'alice', display_name: 'Alice Example' }, csrf_token: csrf });

    // A wrong code comes back on our page with the reason; the rest of the flow uses the defaults.
    const wrong = await http().post('/device').set('x-test-user', 'alice').type('form').send({ user_code: 'ZZZZ-ZZZZ', _csrf: csrf });
    expect(wrong.status).toBe(404);
    expect(wrong.text).toContain('<h1>Our own wording</h1>');
    expect(wrong.text).toContain('<p class="problem">That code is not right. Check the code on your device and enter it again.</p>');
    expect(wrong.text).toContain('value="ZZZZ-ZZZZ"');

    const started = await deviceAuthorization(http, { client_id: 'host-cli' });
    const confirm = await http().post('/device').set('x-test-user', 'alice').type('form').send({ user_code: started.body.user_code, _csrf: csrf });
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain('<span class="client">Host CLI</span> wants to access your account');
    const approved = await http().post('/device/approve').set('x-test-user', 'alice').type('form').send({ user_code: started.body.user_code, _csrf: csrf });
    expect(approved.status).toBe(200);
    expect(approved.text).toContain('<h1>Device connected</h1>');
    expect(await host.dataSource.query('SELECT status, user_id FROM device_codes')).toEqual([{ status: 'authorized', user_id: 'alice' }]);

    // The CSRF token is bound to the resolver's session id: bob's token does not work for alice.
    const bobs = (await http().get('/device/api/session').set('x-test-user', 'bob')).body.csrf_token;
    expect(bobs).not.toBe(csrf);
    const forged = await http().post('/device').set('x-test-user', 'alice').type('form').send({ user_code: started.body.user_code, _csrf: bobs });
    expect(forged.status).toBe(403);
  });
});

// A boot that fails leaves the host's pool open, so these run on in-memory SQLite only.
describe('client registry options that must fail at boot', () => {
  it('clients and clientRegistry together', async () => {
    await expect(startHostApp([hostTypeOrm('sqlite'), DeviceAuthModule.forRoot(hostOptions({ clientRegistry: 'database' }))])).rejects.toThrow(
      'DeviceAuthModule options: give clients or clientRegistry, not both.',
    );
  });

  it('a clientRegistry that is neither "database" nor an object with findClient', async () => {
    await expect(
      startHostApp([hostTypeOrm('sqlite'), DeviceAuthModule.forRoot(hostOptions({ clients: undefined, clientRegistry: {} as ClientRegistry }))]),
    ).rejects.toThrow('DeviceAuthModule options: clientRegistry must be "database" or an object with findClient(clientId).');
  });

  it('a userResolver together with resolveUser', async () => {
    await expect(startHostApp([hostTypeOrm('sqlite'), DeviceAuthModule.forRoot(hostOptions({ userResolver: new HeaderUserResolver() }))])).rejects.toThrow(
      'DeviceAuthModule options: give userResolver or resolveUser and signInUrl, not both.',
    );
  });
});
