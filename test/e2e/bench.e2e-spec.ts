import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * `npm run bench` keeps working: a one-second run of the smallest matrix (SQLite on Fastify,
 * no purge phase) from the compiled benchmark, against the built demo. It checks the shape of
 * what the benchmark reports and that every answer was the expected one, never a speed.
 */
const ROOT = join(__dirname, '..', '..');
const run = promisify(execFile);

describe('the benchmark', () => {
  it('measures the ceiling, creates and polls, and writes a table and JSON', async () => {
    await run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.bench.json'], { cwd: ROOT });
    const { stdout } = await run(
      process.execPath,
      [join(ROOT, 'dist', 'bench', 'bench.js'), '--db', 'sqlite', '--adapter', 'fastify', '--no-purge', '--duration', '1', '--warmup', '1', '--connections', '10'],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' } },
    );
    const table = stdout.split('\n').filter((line) => /^(-|sqlite)\s+fastify\s/.test(line));
    expect(table.map((line) => line.split(/\s{2,}/).slice(0, 3))).toEqual([
      ['-', 'fastify', 'ceiling'],
      ['sqlite', 'fastify', 'create'],
      ['sqlite', 'fastify', 'poll'],
    ]);
    expect(stdout).not.toContain('FAILED');

    const file = /^Results: (\S+)$/m.exec(stdout)?.[1];
    expect(file).toBeDefined();
    const report = JSON.parse(readFileSync(join(ROOT, file!), 'utf8')) as {
      measurements: { kind: string; ratioToCeiling: number; memory: { rssMb: number; peakRssMb: number }; result: { requestsPerSecond: number; problems: string[] } }[];
    };
    expect(report.measurements.map((m) => m.kind)).toEqual(['ceiling', 'create', 'poll']);
    for (const m of report.measurements) {
      expect(m.result.problems).toEqual([]);
      expect(m.result.requestsPerSecond).toBeGreaterThan(0);
      expect(m.ratioToCeiling).toBeGreaterThan(0);
      expect(m.memory.peakRssMb).toBeGreaterThanOrEqual(m.memory.rssMb);
    }
  }, 180_000);
});
