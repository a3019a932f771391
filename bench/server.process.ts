import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { freePort } from '../test/support/free-port';
import { onCleanup } from './cleanup';

/** A server the benchmark runs as its own child process (`node <script>`), on a loopback port. */
export interface Memory {
  rssMb: number;
  peakRssMb: number;
}

export interface ServerProcess {
  readonly url: string;
  /** Resident memory now (VmRSS) and its peak so far (VmHWM), in MB. */
  memory(): Memory;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

/**
 * Starts `node <script>` with exactly `env` (plus PATH/HOME, PORT and HOST: nothing leaks in from
 * the caller's shell, such as a DATABASE_URL) and waits until it answers HTTP. Output goes to
 * `logFile`; its tail is shown when the server fails to come up.
 */
export async function startServer(script: string, env: Record<string, string>, logFile: string): Promise<ServerProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const log = openSync(logFile, 'a');
  const child = spawn(process.execPath, [script], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  const stop = onCleanup(`stop ${script} (pid ${child.pid})`, () => stopChild(child));
  try {
    await waitUntilAnswering(url, child);
  } catch (error) {
    await stop();
    throw new Error(`${script} did not start: ${(error as Error).message}\n--- ${logFile} ---\n${tail(logFile)}`);
  }
  return { url, memory: () => memory(child), stop };
}

/** Any HTTP answer (even 404) means the server is listening. */
async function waitUntilAnswering(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`it exited (${child.exitCode ?? child.signalCode})`);
    try {
      await fetch(url, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  throw new Error(`no answer at ${url} within ${READY_TIMEOUT_MS / 1000} s`);
}

/** SIGTERM (Nest closes its connections on it), then SIGKILL if it has not exited in time. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

function memory(child: ChildProcess): Memory {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const mb = (field: string) => {
    const kb = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
    if (!kb) throw new Error(`no ${field} in /proc/${child.pid}/status`);
    return Number(kb[1]) / 1024;
  };
  return { rssMb: mb('VmRSS'), peakRssMb: mb('VmHWM') };
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no output)';
  }
}
