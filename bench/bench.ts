import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, relative } from 'node:path';
import { cleanUpAll, cleanUpOnSignals } from './cleanup';
import { BenchDatabase, DatabaseKind, createBenchDatabase, ensureMariadb } from './databases';
import { LoadResult, LoadSettings, runLoad, warmThenMeasure } from './load';
import { Adapter, BenchOptions, USAGE, readOptions } from './options';
import { countAll, countExpired, preload } from './preload';
import { Measurement, failed, formatTable } from './report';
import { CodePool, ceilingSpec, createSpec, pollSpec } from './requests';
import { ServerProcess, startServer } from './server.process';

/**
 * `npm run bench`: creates/s and polls/s of the demo server on SQLite and MariaDB, on Fastify and
 * Express, each next to the ceiling of a bare Nest route on the same adapter; then polls/s while
 * the server purges many expired rows. Prints a table, writes JSON to test-output/bench/.
 */
const ROOT = join(__dirname, '..', '..');
const DEMO_SCRIPT = join(ROOT, 'dist', 'src', 'demo', 'main.js');
const CEILING_SCRIPT = join(__dirname, 'ceiling.app.js');
const OUT_DIR = join(ROOT, 'test-output', 'bench');

// The smallest interval the demo accepts: the poll load needs polls/s × interval distinct pending
// codes (each may be polled once per interval), so 1 s keeps that pool, made through the
// endpoint, as small as it can be.
const POLL_INTERVAL_SECONDS = 1;
// 1.5 times the codes the ceiling's rate would need: even polls as fast as the ceiling would
// come round to a code only every 1.5 intervals.
const POOL_HEADROOM = 1.5;
const MIN_POOL = 2000;

interface Run {
  options: BenchOptions;
  settings: LoadSettings;
  logDir: string;
}

async function main(): Promise<void> {
  let options: BenchOptions | 'help';
  try {
    options = readOptions(process.argv.slice(2));
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (options === 'help') return console.log(USAGE);
  cleanUpOnSignals();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const run: Run = {
    options,
    settings: { connections: options.connections, warmupSeconds: options.warmupSeconds, durationSeconds: options.durationSeconds },
    logDir: join(OUT_DIR, `logs-${stamp}`),
  };
  mkdirSync(run.logDir, { recursive: true });
  progress(
    `${options.connections} connections, ${options.warmupSeconds} s warm-up + ${options.durationSeconds} s measured per load; ` +
      `databases: ${options.databases.join(', ')}; adapters: ${options.adapters.join(', ')}`,
  );
  if (options.sqliteOnly) console.warn('\n!! --sqlite-only: the MariaDB measurements are SKIPPED in this run.\n');
  const measurements: Measurement[] = [];
  let crash: unknown;
  try {
    if (options.databases.includes('mariadb')) await ensureMariadb();
    for (const adapter of options.adapters) {
      const ceiling = await measureCeiling(run, adapter);
      measurements.push(ceiling);
      for (const database of options.databases) measurements.push(...(await measureDeviceFlow(run, database, adapter, ceiling)));
    }
  } catch (error) {
    crash = error;
  } finally {
    await cleanUpAll();
  }
  const file = join(OUT_DIR, `bench-${stamp}.json`);
  writeFileSync(file, `${JSON.stringify(summary(options, measurements, crash), null, 2)}\n`);
  const ok = !crash && !failed(measurements);
  // The servers' logs (a line per created code) are only worth keeping when something went wrong.
  if (ok) rmSync(run.logDir, { recursive: true, force: true });
  console.log(`\n${formatTable(measurements)}\n\nResults: ${relative(process.cwd(), file)}${ok ? '' : `; server logs: ${relative(process.cwd(), run.logDir)}/`}`);
  if (crash) {
    console.error(`\nThe benchmark stopped early: ${crash instanceof Error ? crash.message : String(crash)}`);
    process.exitCode = 1;
  } else if (failed(measurements)) {
    console.error('\nSome measurements FAILED (see notes): their numbers do not count.');
    process.exitCode = 1;
  }
}

async function measureCeiling(run: Run, adapter: Adapter): Promise<Measurement> {
  progress(`${adapter}: ceiling (bare Nest route)`);
  const server = await startServer(CEILING_SCRIPT, { HTTP_ADAPTER: adapter }, join(run.logDir, `ceiling-${adapter}.log`));
  const result = await warmThenMeasure(server.url, ceilingSpec(), run.settings);
  const memory = server.memory();
  await server.stop();
  return { database: '-', adapter, kind: 'ceiling', result, ratioToCeiling: 1, memory, details: {}, notes: [] };
}

/** Creates, then polls, on one fresh database; then polls again while the server purges. */
async function measureDeviceFlow(run: Run, kind: DatabaseKind, adapter: Adapter, ceiling: Measurement): Promise<Measurement[]> {
  const { options, settings } = run;
  const label = `${kind}-${adapter}`;
  const database = await createBenchDatabase(kind, label);
  try {
    const rowsNote = await preloadRows(database, options.rows);
    const row = (m: Omit<Measurement, 'database' | 'adapter' | 'ratioToCeiling'>): Measurement => ({
      database: kind,
      adapter,
      ratioToCeiling: ceiling.result.requestsPerSecond > 0 ? m.result.requestsPerSecond / ceiling.result.requestsPerSecond : null,
      ...m,
      notes: [...rowsNote, ...m.notes],
    });

    const pool = new CodePool(POLL_INTERVAL_SECONDS * 1000);
    let server = await startDemo(run, database, adapter, { PURGE_INTERVAL: '0' }, `${label}.log`);
    progress(`${label}: creates`);
    const create = await warmThenMeasure(server.url, createSpec(pool), settings);
    const fillUp = await fillPool(server, pool, ceiling.result.requestsPerSecond, settings.connections);
    progress(`${label}: polls (${pool.size} pending codes in rotation)`);
    const poll = await measurePolls(server, pool, settings, fillUp);
    const memory = server.memory();
    await server.stop();
    const results = [
      row({ kind: 'create', result: create, memory, details: { rowsAfter: await countAll(database.dataSource) }, notes: [] }),
      row({ kind: 'poll', result: poll.result, memory, details: poll.details, notes: [] }),
    ];
    if (!options.purge) return results;

    progress(`${label}: preloading ${options.purgeRows} expired rows for the purge`);
    const preloadSeconds = await preload(database.dataSource, { expired: options.purgeRows, pending: 0, tag: 'X' });
    const expiredBefore = await countExpired(database.dataSource);
    // The first purge starts one warm-up after the server boots: as the measured load begins.
    const purgeEnv = { PURGE_INTERVAL: String(settings.warmupSeconds), PURGE_BATCH_SIZE: String(options.purgeBatchSize), PURGE_RETENTION: '0' };
    server = await startDemo(run, database, adapter, purgeEnv, `${label}-purge.log`);
    progress(`${label}: polls while purging ${expiredBefore} expired rows`);
    let expiredAtStart = expiredBefore;
    const during = await measurePolls(server, pool, settings, [], async () => {
      expiredAtStart = await countExpired(database.dataSource);
    });
    const expiredAfter = await countExpired(database.dataSource);
    const purgeMemory = server.memory();
    await server.stop();
    const purgeProblems = purgeOverlap(expiredBefore, expiredAtStart, expiredAfter);
    during.result.problems.push(...purgeProblems);
    results.push(
      row({
        kind: 'poll during purge',
        result: during.result,
        memory: purgeMemory,
        details: { ...during.details, expiredBefore, expiredAtStart, expiredAfter, preloadSeconds: round(preloadSeconds), ...purgeEnv },
        notes: [`expired rows ${expiredBefore} -> ${expiredAtStart} at start -> ${expiredAfter} after`],
      }),
    );
    return results;
  } finally {
    await database.dispose();
  }
}

async function preloadRows(database: BenchDatabase, rows: number): Promise<string[]> {
  if (rows === 0) return [];
  const expired = Math.floor(rows / 2);
  progress(`${database.kind}: preloading ${rows} rows (${expired} expired, ${rows - expired} pending)`);
  const seconds = await preload(database.dataSource, { expired, pending: rows - expired, tag: 'R' });
  progress(`${database.kind}: preloaded in ${round(seconds)} s`);
  return [`${rows} rows preloaded`];
}

function startDemo(run: Run, database: BenchDatabase, adapter: Adapter, purgeEnv: Record<string, string>, log: string): Promise<ServerProcess> {
  const env = {
    ...database.env,
    HTTP_ADAPTER: adapter,
    DEVICE_AUTHORIZATION_RATE_LIMIT: '0',
    DEVICE_POLL_INTERVAL: String(POLL_INTERVAL_SECONDS),
    DEVICE_CODE_TTL: '900', // longer than a database × adapter run, so no polled code expires
    ...purgeEnv,
  };
  return startServer(DEMO_SCRIPT, env, join(run.logDir, log));
}

/** Creates codes (unmeasured) until the pool can feed polls at the ceiling's rate; returns problems. */
async function fillPool(server: ServerProcess, pool: CodePool, ceilingRps: number, connections: number): Promise<string[]> {
  const wanted = Math.max(MIN_POOL, Math.ceil(ceilingRps * POLL_INTERVAL_SECONDS * POOL_HEADROOM));
  if (pool.size >= wanted) return [];
  const missing = wanted - pool.size;
  progress(`creating ${missing} more codes for the poll rotation`);
  // autocannon refuses more connections than requests.
  const fill = await runLoad(server.url, createSpec(pool), { connections: Math.min(connections, missing), amount: missing });
  return fill.problems.map((p) => `creating codes: ${p}`);
}

async function measurePolls(
  server: ServerProcess,
  pool: CodePool,
  settings: LoadSettings,
  earlierProblems: string[],
  beforeMeasure?: () => Promise<void>,
): Promise<{ result: LoadResult; details: Record<string, number | string> }> {
  pool.resetStats();
  const result = await warmThenMeasure(server.url, pollSpec(pool), settings, beforeMeasure);
  result.problems.unshift(...earlierProblems);
  if (pool.tooSoon > 0) result.problems.push(`${pool.tooSoon} polls of a code within one interval (too few codes)`);
  const minGap = pool.minGapMs === Infinity ? 'no code was polled twice' : round(pool.minGapMs);
  return { result, details: { codesInRotation: pool.size, minGapBetweenPollsOfOneCodeMs: minGap } };
}

/** The phase only counts if the purge really ran and overlapped the measured window. */
function purgeOverlap(before: number, atStart: number, after: number): string[] {
  if (after >= before) return ['the purge did not run (does the server read PURGE_INTERVAL?)'];
  if (atStart === 0) return ['the purge was over before the measured window; raise --purge-rows'];
  return [];
}

function summary(options: BenchOptions, measurements: Measurement[], crash: unknown) {
  return {
    finishedAt: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, loadAverage: loadavg(), node: process.version },
    options,
    pollIntervalSeconds: POLL_INTERVAL_SECONDS,
    measurements,
    ...(crash ? { crash: crash instanceof Error ? crash.message : String(crash) } : {}),
  };
}

function progress(message: string): void {
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

main().catch(async (error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  await cleanUpAll();
  process.exit(1);
});
