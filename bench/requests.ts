import type { LoadSpec } from './load';

const CLIENT_ID = 'demo-cli';
/** The ceiling app's one route (bench/ceiling.app.ts). */
export const CEILING_PATH = '/ceiling';
const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/**
 * The device codes the poll load rotates through, in a fixed round. A code polled sooner than
 * `interval - 0.5 s` after its previous poll gets slow_down (and a longer interval for good), so
 * the pool must hold at least polls/s × interval codes; `tooSoon` counts the picks that came
 * round within one interval, `minGapMs` is the shortest gap seen.
 */
export class CodePool {
  private readonly codes: string[] = [];
  private readonly lastPickedAt: number[] = [];
  private readonly retired = new Set<string>();
  private next = 0;
  tooSoon = 0;
  minGapMs = Infinity;

  constructor(private readonly intervalMs: number) {}

  get size(): number {
    return this.codes.length - this.retired.size;
  }

  add(code: string): void {
    this.codes.push(code);
    this.lastPickedAt.push(-Infinity);
  }

  /** A code that got slow_down has a grown interval now; it leaves the round. */
  retire(code: string): void {
    this.retired.add(code);
  }

  /** Starts `tooSoon` and `minGapMs` afresh for the next phase. */
  resetStats(): void {
    this.tooSoon = 0;
    this.minGapMs = Infinity;
  }

  take(): string {
    if (this.size === 0) throw new Error('no device codes to poll');
    for (;;) {
      const i = this.next;
      this.next = (i + 1) % this.codes.length;
      if (this.retired.has(this.codes[i])) continue;
      const now = performance.now();
      const gap = now - this.lastPickedAt[i];
      this.lastPickedAt[i] = now;
      if (gap < this.minGapMs) this.minGapMs = gap;
      if (gap < this.intervalMs) this.tooSoon++;
      return this.codes[i];
    }
  }
}

/** Creates on the device authorization endpoint; every device code answered joins `pool`. */
export function createSpec(pool: CodePool): LoadSpec {
  const body = `client_id=${CLIENT_ID}`;
  return {
    path: '/oauth/device_authorization',
    nextBody: () => body,
    expected: '200',
    onAnswer: (status, answer) => {
      if (status === 200) pool.add((JSON.parse(answer) as { device_code: string }).device_code);
    },
  };
}

/** Polls for pending codes from `pool`, each in its turn. */
export function pollSpec(pool: CodePool): LoadSpec {
  return {
    path: '/oauth/token',
    nextBody: () => pollBody(pool.take()),
    expected: '400 authorization_pending',
    onAnswer: (status, answer, sent) => {
      if (status === 400 && answer.includes('"slow_down"')) pool.retire(new URLSearchParams(sent).get('device_code') ?? '');
    },
  };
}

/** The ceiling's load: a body shaped like a poll's, against the bare app's one route. */
export function ceilingSpec(): LoadSpec {
  const body = pollBody('x'.repeat(43)); // a device code is 32 bytes in base64url: 43 characters
  return { path: CEILING_PATH, nextBody: () => body, expected: '200' };
}

function pollBody(deviceCode: string): string {
  return `grant_type=${encodeURIComponent(DEVICE_CODE_GRANT)}&client_id=${CLIENT_ID}&device_code=${encodeURIComponent(deviceCode)}`;
}
