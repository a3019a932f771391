import { parseArgs } from 'node:util';
import type { DatabaseKind } from './databases';

export type Adapter = 'fastify' | 'express';

export interface BenchOptions {
  connections: number;
  durationSeconds: number;
  warmupSeconds: number;
  rows: number;
  purgeRows: number;
  purgeBatchSize: number;
  purge: boolean;
  databases: DatabaseKind[];
  adapters: Adapter[];
  /** MariaDB was left out on purpose (--sqlite-only). */
  sqliteOnly: boolean;
}

export const USAGE = `npm run bench -- [flags]

  --duration S      seconds each measured load runs (default 10)
  --warmup S        seconds of unmeasured load before each measurement (default 3)
  --connections N   concurrent connections (default 50)
  --rows N          preload N rows into device_codes first, half expired, half pending (default 0)
  --purge-rows N    expired rows preloaded for the poll-during-purge phase (default 200000)
  --purge-batch N   PURGE_BATCH_SIZE for that phase: rows per DELETE (default 1000)
  --no-purge        leave out the poll-during-purge phase
  --db D            sqlite, mariadb or all (default all)
  --adapter A       fastify, express or all (default all)
  --sqlite-only     leave MariaDB out (said loudly); same as --db sqlite
  --quick           a smoke run: --duration 3 --warmup 1 --purge-rows 20000 unless given
  --help            this text`;

export function readOptions(argv: string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      rows: { type: 'string' },
      'purge-rows': { type: 'string' },
      'purge-batch': { type: 'string' },
      'no-purge': { type: 'boolean', default: false },
      db: { type: 'string', default: 'all' },
      adapter: { type: 'string', default: 'all' },
      'sqlite-only': { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return 'help';
  const quick = values.quick;
  const sqliteOnly = values['sqlite-only'];
  if (sqliteOnly && values.db === 'mariadb') throw new Error('--sqlite-only and --db mariadb contradict each other');
  return {
    connections: whole('--connections', values.connections, 50, 1),
    durationSeconds: whole('--duration', values.duration, quick ? 3 : 10, 1),
    warmupSeconds: whole('--warmup', values.warmup, quick ? 1 : 3, 1),
    rows: whole('--rows', values.rows, 0, 0),
    purgeRows: whole('--purge-rows', values['purge-rows'], quick ? 20_000 : 200_000, 1),
    purgeBatchSize: whole('--purge-batch', values['purge-batch'], 1000, 1),
    purge: !values['no-purge'],
    databases: sqliteOnly ? ['sqlite'] : oneOrAll('--db', values.db, ['sqlite', 'mariadb'] as const),
    adapters: oneOrAll('--adapter', values.adapter, ['fastify', 'express'] as const),
    sqliteOnly,
  };
}

function whole(flag: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`${flag} must be a whole number of at least ${min} (got "${raw}")`);
  return n;
}

function oneOrAll<T extends string>(flag: string, raw: string, all: readonly T[]): T[] {
  if (raw === 'all') return [...all];
  if ((all as readonly string[]).includes(raw)) return [raw as T];
  throw new Error(`${flag} must be ${all.join(', ')} or all (got "${raw}")`);
}
