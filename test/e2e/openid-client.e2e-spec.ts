import * as client from 'openid-client';
import { csrfFrom, decideViaPages, signIn } from '../support/flow';
import { CONFIDENTIAL_SECRET, MATRIX, startTestApp, TestApp } from '../support/test-app';
import { freePort } from '../support/free-port';

/**
 * openid-client v6 (panva), a real OAuth client library, plays the device: it discovers the
 * server from its RFC 8414 metadata, starts the flow and polls in real time, while a person
 * signs in and decides through the HTML pages. The server's issuer must be the URL the client
 * reaches it at, so the app gets PUBLIC_URL = its real listening address.
 *
 * The TestClock is never moved here: it only decides expiry and slow_down, and every poll that
 * could be throttled is answered with a final state (which is never slowed down).
 */

/** Waits until the device's first poll has reached the server (it got authorization_pending). */
async function firstPollSeen(t: TestApp, userCode: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const rows = await t.dataSource.query('SELECT status, last_polled_at FROM device_codes WHERE user_code = ?', [userCode.replace('-', '')]);
    if (rows.length === 1 && rows[0].last_polled_at !== null) {
      expect(rows[0].status).toBe('pending');
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the device never polled');
}

async function statusOf(t: TestApp, userCode: string): Promise<unknown> {
  const rows = await t.dataSource.query('SELECT status FROM device_codes WHERE user_code = ?', [userCode.replace('-', '')]);
  return rows[0]?.status;
}

describe.each(MATRIX)('openid-client as the device on %s with %s', (database, adapter) => {
  let t: TestApp;
  let issuer: string;

  beforeAll(async () => {
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}`;
    t = await startTestApp(database, adapter, { PUBLIC_URL: issuer, DEVICE_POLL_INTERVAL: '1' });
    await t.app.listen(port, '127.0.0.1');
  });
  afterAll(() => t.close());
  beforeEach(() => t.clearTables());

  function discover(clientId: string, auth: client.ClientAuth) {
    return client.discovery(new URL(issuer), clientId, undefined, auth, {
      algorithm: 'oauth2',
      execute: [client.allowInsecureRequests],
    });
  }

  it('discovers the server from RFC 8414 metadata', async () => {
    const config = await discover('demo-cli', client.None());
    const metadata = config.serverMetadata();
    expect(metadata.issuer).toBe(issuer);
    expect(metadata.device_authorization_endpoint).toBe(`${issuer}/oauth/device_authorization`);
    expect(metadata.token_endpoint).toBe(`${issuer}/oauth/token`);
    expect(metadata.grant_types_supported).toEqual(['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token']);
    expect(metadata.token_endpoint_auth_methods_supported).toEqual(expect.arrayContaining(['none', 'client_secret_basic', 'client_secret_post']));
  });

  it('gets a token once alice approves on the pages, and /api/me accepts it', async () => {
    const config = await discover('demo-cli', client.None());
    const device = await client.initiateDeviceAuthorization(config, { scope: 'read' });
    expect(device.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    expect(device.verification_uri).toBe(`${issuer}/device`);
    expect(device.verification_uri_complete).toBe(`${issuer}/device?user_code=${encodeURIComponent(device.user_code)}`);
    expect(device.expires_in).toBe(900);
    expect(device.interval).toBe(1);

    const polling = client.pollDeviceAuthorizationGrant(config, device);
    polling.catch(() => undefined); // asserted below; keeps an early rejection from going unhandled
    await firstPollSeen(t, device.user_code);

    // The person follows verification_uri_complete (a real request to the listening server).
    const cookie = await signIn(t, 'alice');
    const page = await fetch(device.verification_uri_complete!, { headers: { Cookie: cookie }, redirect: 'manual' });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Demo CLI');
    expect(html).toContain(`>${device.user_code}</p>`);
    expect(await statusOf(t, device.user_code)).toBe('pending');
    const approved = await fetch(`${issuer}/device/approve`, {
      method: 'POST',
      headers: { Cookie: cookie, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ user_code: device.user_code, _csrf: csrfFrom(html) }),
      redirect: 'manual',
    });
    expect(approved.status).toBe(200);
    expect(await approved.text()).toContain('Device connected');

    const tokens = await polling;
    expect(tokens.token_type).toBe('bearer');
    expect(tokens.scope).toBe('read');
    expect(tokens.expires_in).toBe(3600);
    expect(typeof tokens.access_token).toBe('string');
    expect(await statusOf(t, device.user_code)).toBe('consumed');

    const me = await fetch(`${issuer}/api/me`, { headers: { Authorization: `Bearer ${tokens.access_token}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toEqual({ user: 'alice', client_id: 'demo-cli', scopes: ['read'] });

    // openid-client's own protected-resource call works with the token too.
    const viaClient = await client.fetchProtectedResource(config, tokens.access_token, new URL(`${issuer}/api/me`), 'GET');
    expect(viaClient.status).toBe(200);
    expect(await viaClient.json()).toEqual({ user: 'alice', client_id: 'demo-cli', scopes: ['read'] });
  }, 20_000);

  it('rejects with access_denied when alice denies', async () => {
    const config = await discover('demo-cli', client.None());
    const device = await client.initiateDeviceAuthorization(config, { scope: 'read' });
    const polling = client.pollDeviceAuthorizationGrant(config, device);
    const outcome = polling.then(
      () => {
        throw new Error('polling should have been rejected');
      },
      (error: unknown) => error,
    );
    await firstPollSeen(t, device.user_code);

    const cookie = await signIn(t, 'alice');
    const decided = await decideViaPages(t, cookie, device.user_code, 'deny');
    expect(decided.status).toBe(200);
    expect(decided.text).toContain('Request denied');

    const error = await outcome;
    expect(error).toBeInstanceOf(client.ResponseBodyError);
    expect(error).toMatchObject({ error: 'access_denied', status: 400 });
    expect(await statusOf(t, device.user_code)).toBe('denied');
  }, 20_000);

  it('a confidential client (client_secret_basic) gets its token', async () => {
    const config = await discover('tv-app', client.ClientSecretBasic(CONFIDENTIAL_SECRET));
    const device = await client.initiateDeviceAuthorization(config, { scope: 'read' });
    const polling = client.pollDeviceAuthorizationGrant(config, device);
    polling.catch(() => undefined);
    await firstPollSeen(t, device.user_code);

    const cookie = await signIn(t, 'alice');
    const entry = await t.http().get(`/device?user_code=${encodeURIComponent(device.user_code)}`).set('Cookie', cookie);
    expect(entry.status).toBe(200);
    expect(entry.text).toContain('Living Room TV');
    const decided = await decideViaPages(t, cookie, device.user_code, 'approve');
    expect(decided.status).toBe(200);
    expect(decided.text).toContain('Living Room TV');

    const tokens = await polling;
    expect(tokens.token_type).toBe('bearer');
    expect(tokens.scope).toBe('read');
    const me = await fetch(`${issuer}/api/me`, { headers: { Authorization: `Bearer ${tokens.access_token}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toEqual({ user: 'alice', client_id: 'tv-app', scopes: ['read'] });
  }, 20_000);

  it('a confidential client with the wrong secret is refused with invalid_client', async () => {
    const config = await discover('tv-app', client.ClientSecretBasic('not-the-secret-at-all'));
    const error = await client.initiateDeviceAuthorization(config, { scope: 'read' }).then(
      () => {
        throw new Error('device authorization should have been refused');
      },
      (e: unknown) => e,
    );
    // A 401 with WWW-Authenticate (Basic was used) surfaces as a challenge; the body names the error.
    expect(error).toBeInstanceOf(client.WWWAuthenticateChallengeError);
    const challenge = error as client.WWWAuthenticateChallengeError;
    expect(challenge.status).toBe(401);
    expect(challenge.cause.map((c) => c.scheme)).toContain('basic');
    expect(await challenge.response.json()).toMatchObject({ error: 'invalid_client' });
    const [{ n }] = await t.dataSource.query('SELECT COUNT(*) AS n FROM device_codes WHERE client_id = ?', ['tv-app']);
    expect(Number(n)).toBe(0);
  });
});
