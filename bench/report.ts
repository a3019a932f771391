import type { DatabaseKind } from './databases';
import type { LoadResult } from './load';
import type { Adapter } from './options';
import type { Memory } from './server.process';

export type MeasurementKind = 'ceiling' | 'create' | 'poll' | 'poll during purge';

/** One row of the table: a load against one server, with its ceiling ratio and the server's memory. */
export interface Measurement {
  database: DatabaseKind | '-';
  adapter: Adapter;
  kind: MeasurementKind;
  result: LoadResult;
  /** req/s over the same adapter's ceiling req/s, measured in the same run. */
  ratioToCeiling: number | null;
  /** The server's memory when its run ended. */
  memory: Memory;
  /** What else the phase saw (rows, purge progress, code rotation). */
  details: Record<string, number | string>;
  notes: string[];
}

const HEADERS = ['database', 'adapter', 'measurement', 'req/s', 'p50 ms', 'p99 ms', 'x ceiling', 'RSS MB', 'peak RSS MB', 'notes'];

export function formatTable(measurements: Measurement[]): string {
  const rows = measurements.map((m) => [
    m.database,
    m.adapter,
    m.kind,
    m.result.requestsPerSecond.toFixed(0),
    m.result.p50Ms.toFixed(1),
    m.result.p99Ms.toFixed(1),
    m.ratioToCeiling === null ? '' : m.ratioToCeiling.toFixed(2),
    m.memory.rssMb.toFixed(0),
    m.memory.peakRssMb.toFixed(0),
    [...(m.result.problems.length > 0 ? [`FAILED: ${m.result.problems.join('; ')}`] : []), ...m.notes].join('; '),
  ]);
  const widths = HEADERS.map((header, i) => Math.max(header.length, ...rows.map((row) => row[i].length)));
  const numeric = (i: number) => i >= 3 && i <= 8;
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : numeric(i) ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(HEADERS), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function failed(measurements: Measurement[]): boolean {
  return measurements.some((m) => m.result.problems.length > 0);
}
