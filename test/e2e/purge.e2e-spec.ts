import { DeviceCodeStore, RefreshTokenStore } from '../../src';
import { poll, startFlow } from '../support/flow';
import { MATRIX, startTestApp, TestApp } from '../support/test-app';

describe.each(MATRIX)('purgeExpired on %s with %s', (database, adapter) => {
  let t: TestApp;
  let store: DeviceCodeStore;

  beforeAll(async () => {
    t = await startTestApp(database, adapter);
    store = t.app.get(DeviceCodeStore);
  });
  afterAll(() => t.close());
  beforeEach(() => t.clearTables());

  const statuses = async () =>
    (await t.dataSource.query('SELECT user_code, status FROM device_codes ORDER BY id')) as { user_code: string; status: string }[];

  const RETENTION_MS = 600_000; // the default purgeRetentionSeconds

  it('deletes codes expired longer than the retention in every state, and never a live one', async () => {
    const old = await startFlow(t);
    await t.dataSource.query("UPDATE device_codes SET status = 'authorized', user_id = 'alice'");
    t.clock.advance(600_000);
    const young = await startFlow(t);
    t.clock.advance(300_000); // old has just expired (900 s): kept for the retention, answering expired_token
    expect(await store.purgeExpired()).toBe(0);
    t.clock.advance(RETENTION_MS - 1);
    expect(await store.purgeExpired()).toBe(0);
    t.clock.advance(1); // old expired exactly the retention ago; young expired 600 s ago, less than that
    expect(await store.purgeExpired()).toBe(1);
    expect(await statuses()).toEqual([{ user_code: young.user_code.replace('-', ''), status: 'pending' }]);
    expect(old.user_code).not.toBe(young.user_code);
  });

  it('deletes denied and redeemed codes the retention after their decision, before they expire; approved ones wait for their poll', async () => {
    const denied = await startFlow(t);
    const redeemed = await startFlow(t);
    const approved = await startFlow(t);
    const pending = await startFlow(t);
    expect(await store.denyDeviceCode(denied.user_code, 'alice')).toBe(true);
    expect(await store.authorizeDeviceCode(redeemed.user_code, 'alice')).toBe(true);
    expect(await store.authorizeDeviceCode(approved.user_code, 'bob')).toBe(true);
    expect((await poll(t, redeemed.device_code)).status).toBe(200);
    t.clock.advance(RETENTION_MS - 1);
    expect(await store.purgeExpired()).toBe(0);
    t.clock.advance(1); // decided exactly the retention ago; every code is 600 s old, 300 s before expiry
    expect(await store.purgeExpired()).toBe(2);
    const left = (await t.dataSource.query('SELECT user_code, status FROM device_codes ORDER BY id')) as { user_code: string; status: string }[];
    expect(left).toEqual([
      { user_code: approved.user_code.replace('-', ''), status: 'authorized' },
      { user_code: pending.user_code.replace('-', ''), status: 'pending' },
    ]);
  });

  /** `count` codes that expired the retention ago, inserted directly. */
  async function insertEnded(app: TestApp, count: number): Promise<void> {
    const now = app.clock.now();
    const values = Array.from({ length: count }, (_, i) => `('${i.toString(16).padStart(64, '0')}', 'U${String(i).padStart(7, '0')}', 'demo-cli', 'read', 'pending', 5, ${now - RETENTION_MS}, ${now - 1_500_000})`);
    for (let i = 0; i < values.length; i += 500) {
      await app.dataSource.query(
        `INSERT INTO device_codes (device_code_hash, user_code, client_id, scope, status, interval_seconds, expires_at, created_at) VALUES ${values.slice(i, i + 500).join(', ')}`,
      );
    }
  }

  it('works through thousands of rows in batches and reports how many went', async () => {
    await insertEnded(t, 2500);
    const live = await startFlow(t);
    expect(await store.purgeExpired()).toBe(2500);
    expect(await statuses()).toEqual([{ user_code: live.user_code.replace('-', ''), status: 'pending' }]);
  });

  it('answers polls between its batches instead of holding the server until it ends', async () => {
    const small = await startTestApp(database, adapter, { PURGE_BATCH_SIZE: '50', PURGE_INTERVAL: '0' });
    try {
      await insertEnded(small, 5000);
      const flow = await startFlow(small);
      const order: string[] = [];
      const purge = small.app
        .get(DeviceCodeStore)
        .purgeExpired()
        .then((n) => order.push(`purged ${n}`));
      const answer = poll(small, flow.device_code).then((res) => order.push(`poll ${res.status} ${res.body.error}`));
      await Promise.all([purge, answer]);
      // 100 batches: the poll, sent as the purge began, is answered while it is still running.
      expect(order).toEqual(['poll 400 authorization_pending', 'purged 5000']);
    } finally {
      await small.close();
    }
  });

  it('also clears closed rate-limit windows and expired refresh tokens', async () => {
    const refresh = t.app.get(RefreshTokenStore);
    await refresh.issue({ userId: 'alice', clientId: 'refresh-cli', scope: 'read' });
    t.clock.advance(30 * 24 * 3600 * 1000);
    await refresh.issue({ userId: 'bob', clientId: 'refresh-cli', scope: 'read' });
    const now = t.clock.now();
    await t.dataSource.query(
      `INSERT INTO device_auth_rate_limits (bucket_key, hits, window_ends_at) VALUES ('${'a'.repeat(64)}', 3, ${now}), ('${'b'.repeat(64)}', 1, ${now + 60_000})`,
    );
    expect(await store.purgeExpired()).toBe(0);
    expect(await t.dataSource.query('SELECT hits FROM device_auth_rate_limits')).toEqual([{ hits: 1 }]);
    expect(await refresh.purgeExpired()).toBe(1);
    expect(await t.dataSource.query('SELECT user_id FROM refresh_tokens')).toEqual([{ user_id: 'bob' }]);
  });
});
