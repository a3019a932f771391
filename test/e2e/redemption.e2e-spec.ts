import { DeviceAuthModule, IssuedTokens, TokenGrant, TokenIssuer, VerifiedAccessToken } from '../../src';
import { DEVICE_CODE_GRANT_TYPE } from '../support/flow';
import { HostApp, hostOptions, hostTypeOrm, startHostApp } from '../support/host-app';
import { MATRIX } from '../support/test-app';

/** An issuer whose next `issue` fails, as when the database or a key service blinks. */
class FlakyIssuer implements TokenIssuer {
  failNext = false;
  private issued = 0;
  async issue(grant: TokenGrant): Promise<IssuedTokens> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('issuer unavailable');
    }
    return { access_token: `at-${++this.issued}-${grant.userId}`, token_type: 'Bearer', expires_in: 60, scope: grant.scope };
  }
  async verify(): Promise<VerifiedAccessToken> {
    throw new Error('not used here');
  }
}

describe.each(MATRIX)('a failure while issuing tokens on %s with %s', (database, adapter) => {
  let host: HostApp;
  const issuer = new FlakyIssuer();

  beforeAll(async () => {
    host = await startHostApp([
      hostTypeOrm(database),
      DeviceAuthModule.forRoot(
        hostOptions({ clients: [{ clientId: 'host-cli', name: 'Host CLI', scopes: ['read'], refreshTokens: true }], tokenIssuer: issuer }),
      ),
    ], [], adapter);
  });
  afterAll(() => host.close());

  /** A code approved by alice through the JSON API. */
  async function approvedCode(): Promise<string> {
    const created = await host.http().post('/oauth/device_authorization').type('form').send({ client_id: 'host-cli' });
    const session = await host.http().get('/device/api/session').set('x-test-user', 'alice');
    const approved = await host
      .http()
      .post('/device/api/approve')
      .set('x-test-user', 'alice')
      .set('X-CSRF-Token', session.body.csrf_token)
      .send({ user_code: created.body.user_code });
    expect(approved.status).toBe(200);
    return created.body.device_code;
  }

  const poll = (deviceCode: string) =>
    host.http().post('/oauth/token').type('form').send({ grant_type: DEVICE_CODE_GRANT_TYPE, device_code: deviceCode, client_id: 'host-cli' });
  const SERVER_ERROR = { error: 'server_error', error_description: 'The server could not complete the request.' };

  it('leaves the approved code redeemable: the next poll gets the tokens', async () => {
    const deviceCode = await approvedCode();
    issuer.failNext = true;
    const failed = await poll(deviceCode);
    expect(failed.status).toBe(500);
    expect(failed.body).toEqual(SERVER_ERROR);
    expect((await host.dataSource.query('SELECT status FROM device_codes'))[0].status).toBe('authorized');
    const retried = await poll(deviceCode);
    expect(retried.status).toBe(200);
    expect(retried.body).toEqual({ access_token: expect.stringMatching(/^at-\d+-alice$/), token_type: 'Bearer', expires_in: 60, scope: 'read', refresh_token: expect.any(String) });
    expect((await host.dataSource.query('SELECT status FROM device_codes'))[0].status).toBe('consumed');
    await host.dataSource.query('DELETE FROM device_codes');
    await host.dataSource.query('DELETE FROM refresh_tokens');
  });

  it('leaves the refresh token usable: a retry is not mistaken for reuse', async () => {
    const tokens = (await poll(await approvedCode())).body;
    const refresh = () => host.http().post('/oauth/token').type('form').send({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: 'host-cli' });
    issuer.failNext = true;
    expect((await refresh()).body).toEqual(SERVER_ERROR);
    const retried = await refresh();
    expect(retried.status).toBe(200);
    expect(retried.body.refresh_token).toEqual(expect.any(String));
    const statuses = (await host.dataSource.query('SELECT status FROM refresh_tokens ORDER BY id')).map((row: { status: string }) => row.status);
    // The first token used once; no family revoked.
    expect(statuses[0]).toBe('used');
    expect(statuses).not.toContain('revoked');
    await host.dataSource.query('DELETE FROM device_codes');
    await host.dataSource.query('DELETE FROM refresh_tokens');
  });
});
