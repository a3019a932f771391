import autocannon from 'autocannon';

/** How hard and how long: every load is bounded by a duration or by a number of requests. */
export interface LoadSettings {
  connections: number;
  warmupSeconds: number;
  durationSeconds: number;
}

/** One POST endpoint under load: a form body per request, and the one answer that counts as right. */
export interface LoadSpec {
  path: string;
  nextBody(): string;
  /** The outcome every answer must have, e.g. "200" or "400 authorization_pending". */
  expected: string;
  onAnswer?(status: number, body: string, sentBody: string): void;
}

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  durationSeconds: number;
  /** Answers by outcome ("200", "400 slow_down", ...). */
  outcomes: Record<string, number>;
  connectionErrors: number;
  /** Why the measurement does not count; empty when it does. */
  problems: string[];
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** Warm-up first (its numbers are dropped, its wrong answers are not), then the measured run. */
export async function warmThenMeasure(url: string, spec: LoadSpec, settings: LoadSettings, beforeMeasure?: () => Promise<void>): Promise<LoadResult> {
  const warmup = await runLoad(url, spec, { connections: settings.connections, durationSeconds: settings.warmupSeconds });
  await beforeMeasure?.();
  const measured = await runLoad(url, spec, { connections: settings.connections, durationSeconds: settings.durationSeconds });
  return { ...measured, problems: [...warmup.problems.map((p) => `warm-up: ${p}`), ...measured.problems] };
}

/** One autocannon run, for a duration or for an amount of requests. */
export async function runLoad(url: string, spec: LoadSpec, bound: { connections: number; durationSeconds?: number; amount?: number }): Promise<LoadResult> {
  const outcomes: Record<string, number> = {};
  const result = await autocannon({
    url,
    connections: bound.connections,
    ...(bound.amount === undefined ? { duration: bound.durationSeconds } : { amount: bound.amount }),
    timeout: 10,
    requests: [
      {
        method: 'POST',
        path: spec.path,
        headers: FORM,
        setupRequest: (request, context) => {
          request.body = spec.nextBody();
          context.body = request.body;
          return request;
        },
        onResponse: (status, body, context) => {
          const outcome = outcomeOf(status, body);
          outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
          spec.onAnswer?.(status, body, context.body as string);
        },
      },
    ],
  });
  return {
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
    durationSeconds: result.duration,
    outcomes,
    connectionErrors: result.errors,
    problems: problemsOf(outcomes, spec.expected, result),
  };
}

/** "200" for a success, "<status> <OAuth error code>" otherwise. */
function outcomeOf(status: number, body: string): string {
  if (status === 200) return '200';
  const error = /"error"\s*:\s*"([^"]*)"/.exec(body);
  return `${status} ${error ? error[1] : '(no OAuth error)'}`;
}

function problemsOf(outcomes: Record<string, number>, expected: string, result: autocannon.Result): string[] {
  const problems = Object.entries(outcomes)
    .filter(([outcome]) => outcome !== expected)
    .map(([outcome, count]) => `${count}× ${outcome}`);
  if (result.errors > 0) problems.push(`${result.errors} connection errors (${result.timeouts} timeouts)`);
  if (result.requests.total === 0) problems.push('no answers at all');
  return problems;
}
