import { decideViaPages, poll, signIn, startFlow } from '../support/flow';
import { MATRIX, startTestApp, TestApp } from '../support/test-app';

describe.each(MATRIX)('token endpoint on %s with %s', (database, adapter) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp(database, adapter);
  });
  afterAll(() => t.close());
  beforeEach(() => t.clearTables());

  it('answers authorization_pending while the user has not decided', async () => {
    const flow = await startFlow(t);
    const res = await poll(t, flow.device_code);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'authorization_pending', error_description: 'The user has not yet approved or denied this request.' });
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('issues a token once after approval through the pages', async () => {
    const flow = await startFlow(t, { client_id: 'demo-cli', scope: 'read' });
    const cookie = await signIn(t, 'alice');
    const decided = await decideViaPages(t, cookie, flow.user_code);
    expect(decided.status).toBe(200);
    const res = await poll(t, flow.device_code);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, scope: 'read' });
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['pragma']).toBe('no-cache');
    const me = await t.http().get('/api/me').set('Authorization', `Bearer ${res.body.access_token}`);
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ user: 'alice', client_id: 'demo-cli', scopes: ['read'] });
    const [row] = await t.dataSource.query('SELECT status, user_id FROM device_codes');
    expect(row).toEqual({ status: 'consumed', user_id: 'alice' });
  });
});
