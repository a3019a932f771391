import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { isMysqlFamily } from '../src/store/db-errors';

/** Rows to add to `device_codes` before a load. `tag` keeps user codes of separate preloads apart. */
export interface PreloadPlan {
  expired: number;
  pending: number;
  tag: string;
}

const COLUMNS = [
  'device_code_hash',
  'user_code',
  'client_id',
  'scope',
  'status',
  'user_id',
  'interval_seconds',
  'last_polled_at',
  'expires_at',
  'created_at',
  'decided_at',
  'requester_ip',
  'requester_user_agent',
] as const;

type Row = (string | number | null)[];

const MINUTE = 60_000;
// What an expired row was when it ended: mostly redeemed, some abandoned while pending, some denied.
const EXPIRED_STATUSES = ['consumed', 'consumed', 'pending', 'denied'] as const;

/**
 * Bulk multi-row INSERTs straight into `device_codes`, in batches. Expired rows ended within the
 * last day; pending ones stay unexpired for an hour, longer than any run. User codes contain digits, which the demo's code
 * alphabet does not, so they never collide with codes the server draws. Returns the seconds taken.
 */
export async function preload(dataSource: DataSource, plan: PreloadPlan): Promise<number> {
  const started = performance.now();
  const mysql = isMysqlFamily(dataSource.options.type);
  // SQLite binds at most 32766 parameters per statement, and commits cost more than statements.
  const rowsPerStatement = mysql ? 5000 : 500;
  const rowsPerTransaction = mysql ? 5000 : 20_000;
  const total = plan.expired + plan.pending;
  const now = Date.now();
  for (let first = 0; first < total; first += rowsPerTransaction) {
    const end = Math.min(first + rowsPerTransaction, total);
    await dataSource.transaction(async (manager) => {
      for (let from = first; from < end; from += rowsPerStatement) {
        const rows = makeRows(plan, from, Math.min(from + rowsPerStatement, end), now);
        const placeholders = rows.map(() => `(${COLUMNS.map(() => '?').join(',')})`).join(',');
        await manager.query(`INSERT INTO device_codes (${COLUMNS.join(',')}) VALUES ${placeholders}`, rows.flat());
      }
    });
  }
  return (performance.now() - started) / 1000;
}

function makeRows(plan: PreloadPlan, from: number, to: number, now: number): Row[] {
  const hashes = randomBytes(32 * (to - from)).toString('hex');
  const rows: Row[] = [];
  for (let i = from; i < to; i++) {
    const hash = hashes.slice((i - from) * 64, (i - from + 1) * 64);
    const userCode = `${plan.tag}${i}`;
    rows.push(i < plan.expired ? expiredRow(hash, userCode, i, now) : pendingRow(hash, userCode, now));
  }
  return rows;
}

function expiredRow(hash: string, userCode: string, i: number, now: number): Row {
  const status = EXPIRED_STATUSES[i % EXPIRED_STATUSES.length];
  const expiresAt = now - MINUTE - (i % 1440) * MINUTE;
  const createdAt = expiresAt - 15 * MINUTE;
  const decided = status === 'pending' ? null : createdAt + MINUTE;
  return [hash, userCode, 'demo-cli', 'read', status, decided === null ? null : 'demo', 5, createdAt + 30_000, expiresAt, createdAt, decided, '127.0.0.1', 'bench'];
}

function pendingRow(hash: string, userCode: string, now: number): Row {
  return [hash, userCode, 'demo-cli', 'read', 'pending', null, 5, null, now + 60 * MINUTE, now, null, '127.0.0.1', 'bench'];
}

/** How many rows of `device_codes` are expired now (a range over the expiry index). */
export async function countExpired(dataSource: DataSource): Promise<number> {
  const [row] = (await dataSource.query('SELECT COUNT(*) AS n FROM device_codes WHERE expires_at <= ?', [Date.now()])) as { n: number | string }[];
  return Number(row.n);
}

/** How many rows `device_codes` holds. */
export async function countAll(dataSource: DataSource): Promise<number> {
  const [row] = (await dataSource.query('SELECT COUNT(*) AS n FROM device_codes')) as { n: number | string }[];
  return Number(row.n);
}
