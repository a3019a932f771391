import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './free-port';

/** The compiled demo server, as `npm start` runs it (`npm test` builds dist/ before Jest). */
export const DEMO_MAIN = join(__dirname, '../../dist/src/demo/main.js');

/** The demo's last start-up line: once printed, it listens. */
const READY_LINE = 'Sign in with';

export interface DemoProcess {
  /** Where it listens, e.g. http://127.0.0.1:41234. */
  url: string;
  port: number;
  child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>;
  /** SIGTERM to its process group; resolves with the exit code. */
  stop(): Promise<number | null>;
}

export function assertDemoBuilt(): void {
  if (!existsSync(DEMO_MAIN)) throw new Error('dist/ is missing: run `npm run build` (npm test does) before this suite');
}

/**
 * Starts the compiled demo as a child process with the SPEC's environment variables (only
 * PATH and HOME are inherited) on a free port, and waits until it listens. With `viaNpm` it
 * runs the README's own command, `npm start` (which builds first).
 */
export async function startDemoProcess(env: Record<string, string>, options: { viaNpm?: boolean; timeoutMs?: number } = {}): Promise<DemoProcess> {
  const { viaNpm = false, timeoutMs = viaNpm ? 60_000 : 20_000 } = options;
  assertDemoBuilt();
  const port = await freePort();
  const [command, args] = viaNpm ? ['npm', ['start']] : [process.execPath, [DEMO_MAIN]];
  const child = spawn(command, args, {
    cwd: join(__dirname, '../..'),
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so that stop() reaches anything it started (npm's child too).
    detached: true,
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + timeoutMs;
  while (!output.includes(READY_LINE)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
      throw new Error(`demo did not start:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    child,
    output: () => output,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGTERM');
      return exited;
    },
  };
}

export interface FetchedResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: any;
}

/** A form-encoded POST to a running server, without following redirects. */
export async function postForm(baseUrl: string, path: string, form: Record<string, string>, cookie?: string): Promise<FetchedResponse> {
  return fetchText(`${baseUrl}${path}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
    body: new URLSearchParams(form).toString(),
  });
}

export async function getPage(baseUrl: string, path: string, cookie?: string): Promise<FetchedResponse> {
  return fetchText(`${baseUrl}${path}`, { redirect: 'manual', headers: cookie ? { cookie } : {} });
}

async function fetchText(url: string, init: RequestInit): Promise<FetchedResponse> {
  const res = await fetch(url, init);
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}
