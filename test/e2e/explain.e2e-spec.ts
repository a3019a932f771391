import { DeviceCodeStore, RefreshTokenStore } from '../../src';
import { RateLimiter } from '../../src/limits/rate-limiter.service';
import { poll, startFlow } from '../support/flow';
import { DATABASES, startTestApp, TestApp } from '../support/test-app';

/**
 * Every hot query uses an index: the module's own statements, captured from TypeORM while a
 * device flow, a refresh, the rate limiter and the purges run, are each EXPLAINed on MariaDB
 * (with their real parameters, on tables with a few thousand rows and fresh statistics) and must
 * use the intended index, never a full table or index scan. No timing is asserted.
 */
const onMariadb = DATABASES.includes('mariadb') ? describe : describe.skip;

interface PlanRow {
  table: string | null;
  type: string | null;
  possible_keys: string | null;
  key: string | null;
  rows: number | null;
  Extra: string | null;
}

interface Statement {
  sql: string;
  parameters: unknown[];
}

type Table = 'device_codes' | 'refresh_tokens' | 'device_auth_rate_limits';

/** A lookup the module makes, how to recognise its statement, and the index it must use. */
interface Lookup {
  name: string;
  table: Table;
  verb: 'SELECT' | 'UPDATE' | 'DELETE';
  /** Matched against the WHERE clause with backticks and table aliases removed. */
  where: RegExp;
  index: string;
}

const LOOKUPS: Lookup[] = [
  { name: 'poll: device code by hash', table: 'device_codes', verb: 'SELECT', where: /\bdevice_code_hash = /, index: 'uq_device_codes_device_code_hash' },
  { name: 'verification: code by user code', table: 'device_codes', verb: 'SELECT', where: /\buser_code = /, index: 'uq_device_codes_user_code' },
  { name: 'approve/deny: conditional UPDATE by user code', table: 'device_codes', verb: 'UPDATE', where: /\buser_code = /, index: 'uq_device_codes_user_code' },
  { name: 'poll/slow_down/redeem: conditional UPDATE by id', table: 'device_codes', verb: 'UPDATE', where: /\bid = /, index: 'PRIMARY' },
  { name: 'purge: expired code ids by expiry', table: 'device_codes', verb: 'SELECT', where: /\bexpires_at <= /, index: 'idx_device_codes_expires_at' },
  { name: 'purge: denied and redeemed code ids by decision time', table: 'device_codes', verb: 'SELECT', where: /\bstatus IN \(.*\bdecided_at <= /, index: 'idx_device_codes_decided_at' },
  { name: 'purge: DELETE codes by id list', table: 'device_codes', verb: 'DELETE', where: /\bid IN \(/, index: 'PRIMARY' },
  { name: 'refresh: token by hash', table: 'refresh_tokens', verb: 'SELECT', where: /\btoken_hash = /, index: 'uq_refresh_tokens_token_hash' },
  { name: 'refresh: revoked family check', table: 'refresh_tokens', verb: 'SELECT', where: /\bfamily_id = /, index: 'idx_refresh_tokens_family_id' },
  { name: 'refresh: revoke family', table: 'refresh_tokens', verb: 'UPDATE', where: /\bfamily_id = /, index: 'idx_refresh_tokens_family_id' },
  { name: 'refresh: use the token (conditional UPDATE by id)', table: 'refresh_tokens', verb: 'UPDATE', where: /\bid = /, index: 'PRIMARY' },
  { name: 'purge: expired refresh token ids by expiry', table: 'refresh_tokens', verb: 'SELECT', where: /\bexpires_at <= /, index: 'idx_refresh_tokens_expires_at' },
  { name: 'purge: DELETE refresh tokens by id list', table: 'refresh_tokens', verb: 'DELETE', where: /\bid IN \(/, index: 'PRIMARY' },
  { name: 'rate limit: refund by bucket key', table: 'device_auth_rate_limits', verb: 'UPDATE', where: /\bbucket_key IN \(/, index: 'PRIMARY' },
  { name: 'purge: closed rate-limit windows', table: 'device_auth_rate_limits', verb: 'SELECT', where: /\bwindow_ends_at <= /, index: 'idx_device_auth_rate_limits_window_ends_at' },
  { name: 'purge: DELETE rate-limit counters by key list', table: 'device_auth_rate_limits', verb: 'DELETE', where: /\bbucket_key IN \(/, index: 'PRIMARY' },
];

/**
 * The statement's verb, its table (and the alias TypeORM gave it, which EXPLAIN shows as the
 * table), and its WHERE clause without backticks and `Alias.` prefixes.
 */
function shape(sql: string): { verb: string; table?: Table; names: string[]; where: string } | null {
  const flat = sql.replace(/\s+/g, ' ').trim();
  const verb = /^(SELECT|UPDATE|DELETE)\b/i.exec(flat)?.[1].toUpperCase();
  if (!verb) return null;
  const from = /(?:FROM|UPDATE) `?(device_codes|refresh_tokens|device_auth_rate_limits)`?(?: `(\w+)`)?/i.exec(flat);
  const whereAt = flat.search(/ WHERE /i);
  const where = whereAt < 0 ? '' : flat.slice(whereAt + 7).replace(/`/g, '').replace(/\b[A-Za-z_]+\.(?=[a-z_]+\b)/g, '');
  return { verb, table: from?.[1] as Table | undefined, names: from ? [from[1], from[2] ?? from[1]] : [], where };
}

onMariadb('every hot query uses its index on MariaDB (EXPLAIN)', () => {
  let t: TestApp;
  const captured: Statement[] = [];
  /** Each lookup with the statements of it that were captured and their plans. */
  const plans = new Map<string, { sql: string; names: string[]; plan: PlanRow[] }[]>();

  beforeAll(async () => {
    t = await startTestApp('mariadb', 'fastify', { DEVICE_POLL_INTERVAL: '5' });
    await seed(t);
    await t.dataSource.query('ANALYZE TABLE device_codes, refresh_tokens, device_auth_rate_limits');

    // From here on, every statement the module sends is recorded (TypeORM reports each to its logger).
    jest.spyOn(t.dataSource.logger, 'logQuery').mockImplementation((sql: string, parameters?: unknown) => {
      captured.push({ sql, parameters: Array.isArray(parameters) ? parameters : [] });
    });
    await exerciseTheModule(t);
    jest.restoreAllMocks();

    for (const statement of captured) {
      const s = shape(statement.sql);
      if (!s?.table) continue;
      const lookup = LOOKUPS.find((l) => l.table === s.table && l.verb === s.verb && l.where.test(s.where));
      const key = lookup?.name ?? `unclassified ${s.verb} on ${s.table}: ${s.where}`;
      const plan = (await t.dataSource.query(`EXPLAIN ${statement.sql}`, statement.parameters)) as PlanRow[];
      plans.set(key, [...(plans.get(key) ?? []), { sql: statement.sql, names: s.names, plan }]);
    }
  });

  afterAll(async () => {
    if (!t) return;
    await t.clearTables();
    await t.close();
  });

  it.each(LOOKUPS.map((l) => [l.name, l] as const))('%s', (_name, lookup) => {
    const seen = plans.get(lookup.name);
    if (!seen) throw new Error(`no statement for "${lookup.name}" was captured; statements seen:\n${captured.map((c) => c.sql).join('\n')}`);
    for (const { sql, names, plan } of seen) {
      // The plan's row for the module's table (an EXISTS also has a row for its dummy table).
      const row = plan.find((r) => r.table !== null && names.includes(r.table)) ?? plan[0];
      const summary = { sql, type: row.type, key: row.key, possible_keys: row.possible_keys, rows: row.rows, Extra: row.Extra };
      // 'ALL' is a full table scan, 'index' a full scan of an index: neither may serve a hot query.
      expect({ ...summary, fullScan: row.type === 'ALL' || row.type === 'index' }).toEqual({ ...summary, fullScan: false, key: lookup.index });
    }
  });

  it('every SELECT, UPDATE and DELETE the module sent on its tables is one of those lookups', () => {
    const unclassified = [...plans.keys()].filter((k) => k.startsWith('unclassified'));
    expect(unclassified).toEqual([]);
  });

  it('the rate limiter’s upsert finds its counter by the primary key (bucket_key)', async () => {
    // EXPLAIN says nothing useful about INSERT ... ON DUPLICATE KEY UPDATE; the duplicate check
    // it makes is this point lookup.
    const [{ bucket_key: key }] = (await t.dataSource.query('SELECT bucket_key FROM device_auth_rate_limits LIMIT 1')) as { bucket_key: string }[];
    const plan = (await t.dataSource.query('EXPLAIN SELECT hits FROM device_auth_rate_limits WHERE bucket_key = ?', [key])) as PlanRow[];
    expect(plan[0].type).not.toBe('ALL');
    expect(plan[0].key).toBe('PRIMARY');
  });
});

/**
 * Thousands of rows in each table, most of them live and a few percent expired, as between two
 * purges, so that the optimizer weighs real statistics: on a tiny table, or one where the
 * purge's 1000-id batch is a large share of the rows, a full scan is the cheaper plan and would
 * be chosen for reasons that say nothing about production.
 */
async function seed(t: TestApp): Promise<void> {
  const now = t.clock.now();
  const hex = (prefix: string, i: number) => `${prefix}${i.toString(16).padStart(63, '0')}`;
  const insert = async (table: string, columns: string, rows: string[]) => {
    for (let i = 0; i < rows.length; i += 1000) await t.dataSource.query(`INSERT INTO ${table} (${columns}) VALUES ${rows.slice(i, i + 1000).join(', ')}`);
  };
  const statuses = ['pending', 'authorized', 'denied', 'consumed'];
  await insert(
    'device_codes',
    'device_code_hash, user_code, client_id, scope, status, user_id, interval_seconds, expires_at, created_at, decided_at',
    Array.from({ length: 20_000 }, (_, i) => {
      // 1250 ended past the purge's retention (a full batch of 1000 and a partial one)
      const ended = i % 16 === 0;
      const status = ended ? statuses[i % 4] : 'pending';
      const decidedAt = status === 'pending' ? 'NULL' : now - 1_000_000 - i;
      return `('${hex('a', i)}', 'S${String(i).padStart(9, '0')}', 'demo-cli', 'read', '${status}', ${status === 'pending' || status === 'denied' ? 'NULL' : "'alice'"}, 5, ${ended ? now - 700_000 - i : now + 600_000 + i}, ${now - 1_500_000}, ${decidedAt})`;
    }),
  );
  await insert(
    'refresh_tokens',
    'token_hash, family_id, client_id, user_id, scope, status, expires_at, created_at',
    Array.from({ length: 4000 }, (_, i) => {
      const expired = i % 40 === 0;
      return `('${hex('b', i)}', '${(i >> 1).toString(16).padStart(32, '0')}', 'refresh-cli', 'alice', 'read', '${i % 2 ? 'active' : 'used'}', ${expired ? now - 1000 : now + 86_400_000}, ${now - 300_000})`;
    }),
  );
  await insert(
    'device_auth_rate_limits',
    'bucket_key, hits, window_ends_at',
    Array.from({ length: 2000 }, (_, i) => `('${hex('c', i)}', 1, ${i % 10 === 0 ? now - 1000 : now + 60_000})`),
  );
}

/** What the module does in production, through its HTTP endpoints and its injectable services. */
async function exerciseTheModule(t: TestApp): Promise<void> {
  const client = { client_id: 'refresh-cli' };
  const store = t.app.get(DeviceCodeStore);

  const flow = await startFlow(t, { ...client, scope: 'read' });
  expect((await poll(t, flow.device_code, client)).body.error).toBe('authorization_pending');
  expect((await poll(t, flow.device_code, client)).body.error).toBe('slow_down');
  expect(await store.findByUserCode(flow.user_code)).not.toBeNull();
  expect(await store.authorizeDeviceCode(flow.user_code, 'alice')).toBe(true);
  const denied = await startFlow(t, { ...client, scope: 'read' });
  expect(await store.denyDeviceCode(denied.user_code, 'alice')).toBe(true);
  const tokens = await poll(t, flow.device_code, client);
  expect(tokens.status).toBe(200);

  const refresh = (token: string) =>
    t.http().post('/oauth/token').type('form').send({ grant_type: 'refresh_token', refresh_token: token, ...client });
  const rotated = await refresh(tokens.body.refresh_token as string);
  expect(rotated.status).toBe(200);
  expect((await refresh(tokens.body.refresh_token as string)).status).toBe(400); // reuse: the family is revoked

  const limiter = t.app.get(RateLimiter);
  const limit = { name: 'explain', limit: 5, windowSeconds: 60 };
  await limiter.hit(limit, ['user:alice', 'ip:127.0.0.1']);
  await limiter.refund(limit, ['user:alice', 'ip:127.0.0.1']);

  expect(await store.purgeExpired()).toBeGreaterThan(0);
  expect(await t.app.get(RefreshTokenStore).purgeExpired()).toBeGreaterThan(0);
}
