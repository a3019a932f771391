import { randomInt } from 'node:crypto';
import { DeviceCodeStore } from '../../src';
import { sha256Hex } from '../../src/codes/device-code';
import { csrfFrom, decideViaPages, poll, requestDeviceCode, signIn, startFlow } from '../support/flow';
import { MATRIX, startTestApp, TestApp } from '../support/test-app';

/**
 * Requests that meet on one code at the same moment. The app listens on a real port, so the
 * parallel requests are parallel connections, and on MariaDB parallel statements on the pool.
 */

const USED_CODE = { error: 'invalid_grant', error_description: 'The device code has already been used.' };
const NO_FREE_CODE = { error: 'temporarily_unavailable', error_description: 'No free user code could be drawn; try again shortly.' };

describe.each(MATRIX)('races on %s with %s', (database, adapter) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp(database, adapter);
    await t.app.listen(0, '127.0.0.1');
  });
  afterAll(() => t.close());
  beforeEach(() => t.clearTables());

  async function codeRows(): Promise<Record<string, unknown>[]> {
    return t.dataSource.query('SELECT * FROM device_codes ORDER BY id');
  }

  async function entryCsrf(cookie: string): Promise<string> {
    return csrfFrom((await t.http().get('/device').set('Cookie', cookie)).text);
  }

  function decide(action: 'approve' | 'deny', cookie: string, csrf: string, userCode: string) {
    return t.http().post(`/device/${action}`).set('Cookie', cookie).type('form').send({ user_code: userCode, _csrf: csrf });
  }

  it('approve (alice) and deny (bob) of one code at the same instant: exactly one wins, the other gets the already-decided page', async () => {
    const alice = await signIn(t, 'alice');
    const bob = await signIn(t, 'bob');
    const [aliceCsrf, bobCsrf] = [await entryCsrf(alice), await entryCsrf(bob)];
    // Several rounds, so that either side gets the chance to win.
    for (let round = 0; round < 8; round++) {
      const flow = await startFlow(t);
      const approve = () => decide('approve', alice, aliceCsrf, flow.user_code);
      const deny = () => decide('deny', bob, bobCsrf, flow.user_code);
      // Either one sent first, by turns.
      const [approved, denied] = round % 2 === 0 ? await Promise.all([approve(), deny()]) : (await Promise.all([deny(), approve()])).reverse();
      expect([approved.status, denied.status].sort()).toEqual([200, 409]);
      const approveWon = approved.status === 200;
      const [winner, loser] = approveWon ? [approved, denied] : [denied, approved];
      expect(winner.text).toContain(approveWon ? 'Device connected' : 'Request denied');
      // The same page the verification pages give for any already-decided code.
      expect(loser.text).toContain('This code was already used');
      expect(loser.text).toContain(`This request was already ${approveWon ? 'approved' : 'denied'}.`);

      const [row] = (await codeRows()).filter((r) => r.user_code === flow.user_code.replace('-', ''));
      expect([row.status, row.user_id]).toEqual(approveWon ? ['authorized', 'alice'] : ['denied', 'bob']);
      const polled = await poll(t, flow.device_code);
      if (approveWon) expect(polled.status).toBe(200);
      else expect(polled.body).toEqual({ error: 'access_denied', error_description: 'The user denied the request.' });
    }
  });

  it('50 simultaneous polls after approval: exactly one gets the tokens, the rest invalid_grant, and the code is consumed', async () => {
    const flow = await startFlow(t, { client_id: 'refresh-cli', scope: 'read' });
    expect((await decideViaPages(t, await signIn(t, 'alice'), flow.user_code)).status).toBe(200);

    const results = await Promise.all(Array.from({ length: 50 }, () => poll(t, flow.device_code, { client_id: 'refresh-cli' })));
    const winners = results.filter((res) => res.status === 200);
    expect(winners).toHaveLength(1);
    expect(winners[0].body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, scope: 'read', refresh_token: expect.any(String) });
    for (const loser of results.filter((res) => res.status !== 200)) {
      expect(loser.status).toBe(400);
      expect(loser.body).toEqual(USED_CODE);
    }

    t.clock.advance(flow.interval * 1000);
    const later = await poll(t, flow.device_code, { client_id: 'refresh-cli' });
    expect([later.status, later.body]).toEqual([400, USED_CODE]);
    const [row] = await codeRows();
    expect([row.status, row.user_id]).toEqual(['consumed', 'alice']);
    // Losers that had issued tokens took them back: the only live refresh token is the winner's.
    const live = await t.dataSource.query("SELECT token_hash FROM refresh_tokens WHERE status = 'active'");
    expect(live).toEqual([{ token_hash: sha256Hex(winners[0].body.refresh_token) }]);
  });

  describe('creation with a user-code generator forced to collide', () => {
    // Ten possible codes. (The options allow no user-code space this small, 10^6 at the least, so
    // the store's own draw is narrowed: every draw after the first few meets a taken code.)
    const SPACE = Array.from('BCDFGHJKLM', (last) => `BBBB-BBB${last}`);
    let restore: () => void;

    beforeEach(() => {
      const draw = jest.spyOn(t.app.get(DeviceCodeStore), 'generateUserCode').mockImplementation(() => SPACE[randomInt(SPACE.length)]);
      restore = () => draw.mockRestore();
    });
    afterEach(() => restore());

    it('answers 200 with a unique code or 503 temporarily_unavailable, never 500, and fills all ten codes by retrying', async () => {
      const issued = new Map<string, string>();
      // Bursts of parallel requests, as devices arriving together, until every code is taken.
      for (let burst = 0; issued.size < SPACE.length && burst < 100; burst++) {
        for (const res of await Promise.all(Array.from({ length: 4 }, () => requestDeviceCode(t)))) {
          if (res.status === 200) {
            expect(SPACE).toContain(res.body.user_code);
            expect(issued.has(res.body.user_code.replace('-', ''))).toBe(false);
            issued.set(res.body.user_code.replace('-', ''), res.body.device_code);
            continue;
          }
          expect([res.status, res.body, res.headers['retry-after']]).toEqual([503, NO_FREE_CODE, '1']);
        }
      }
      expect(issued.size).toBe(SPACE.length);
      // Full: every further request is told to come back, and writes nothing.
      const full = await requestDeviceCode(t);
      expect([full.status, full.body, full.headers['retry-after']]).toEqual([503, NO_FREE_CODE, '1']);

      // One complete row per 200, none for a 503: each answer's device code finds its own row.
      const rows = await codeRows();
      expect(rows.map((r) => r.user_code).sort()).toEqual(SPACE.map((code) => code.replace('-', '')));
      for (const row of rows) {
        expect(row).toMatchObject({ client_id: 'demo-cli', scope: 'read write', status: 'pending', user_id: null, interval_seconds: 5 });
        expect(Number(row.expires_at) - Number(row.created_at)).toBe(900_000);
        expect(row.device_code_hash).toBe(sha256Hex(issued.get(String(row.user_code))!));
      }
    });
  });
});
