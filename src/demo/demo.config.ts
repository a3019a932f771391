import { join, resolve } from 'node:path';
import { clientConfigProblem } from '../clients/client-config.validation';
import type { DeviceClientConfig } from '../clients/client.interface';

/** The demo server's settings, read from the environment variables SPEC.md names. */
export interface DemoConfig {
  port: number;
  host: string;
  publicUrl: string;
  dataDir: string;
  databaseUrl?: string;
  clients: DeviceClientConfig[];
  users: Map<string, string>;
  deviceCodeTtlSeconds?: number;
  pollIntervalSeconds?: number;
  httpAdapter: 'fastify' | 'express';
  deviceAuthorizationRateLimit?: number;
  verificationFailureLimit?: number;
  purgeIntervalSeconds?: number;
  purgeBatchSize?: number;
  purgeRetentionSeconds?: number;
}

/** Raised at boot for a bad environment variable; the message names the variable and the fix. */
export class DemoConfigError extends Error {
  constructor(variable: string, problem: string) {
    super(`${variable}: ${problem}`);
    this.name = 'DemoConfigError';
  }
}

const DEFAULT_CLIENTS: DeviceClientConfig[] = [{ clientId: 'demo-cli', name: 'Demo CLI', scopes: ['read', 'write'], refreshTokens: true }];

export function readDemoConfig(env: NodeJS.ProcessEnv): DemoConfig {
  const port = integer(env, 'PORT', 3000, 0, 65535);
  const publicUrl = publicUrlFrom(env, port);
  const httpAdapter = value(env, 'HTTP_ADAPTER') ?? 'fastify';
  if (httpAdapter !== 'fastify' && httpAdapter !== 'express') throw new DemoConfigError('HTTP_ADAPTER', 'must be "fastify" or "express".');
  return {
    port,
    host: value(env, 'HOST') ?? '127.0.0.1',
    publicUrl,
    dataDir: resolve(value(env, 'DATA_DIR') ?? './data'),
    databaseUrl: databaseUrl(env),
    clients: clients(env),
    users: users(env),
    deviceCodeTtlSeconds: optionalInteger(env, 'DEVICE_CODE_TTL', 1),
    // The module grows the interval up to 60 s on slow_down, so the start value cannot exceed it.
    pollIntervalSeconds: optionalInteger(env, 'DEVICE_POLL_INTERVAL', 1, 60),
    httpAdapter,
    deviceAuthorizationRateLimit: optionalInteger(env, 'DEVICE_AUTHORIZATION_RATE_LIMIT', 0),
    verificationFailureLimit: optionalInteger(env, 'VERIFICATION_FAILURE_LIMIT', 1),
    purgeIntervalSeconds: optionalInteger(env, 'PURGE_INTERVAL', 0),
    purgeBatchSize: optionalInteger(env, 'PURGE_BATCH_SIZE', 1),
    purgeRetentionSeconds: optionalInteger(env, 'PURGE_RETENTION', 0),
  };
}

export function sqlitePath(config: Pick<DemoConfig, 'dataDir'>): string {
  return join(config.dataDir, 'device-auth.sqlite');
}

function value(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === '' ? undefined : v;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  return optionalInteger(env, name, min, max) ?? fallback;
}

function optionalInteger(env: NodeJS.ProcessEnv, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const v = value(env, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max) throw new DemoConfigError(name, `must be a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''} (got "${v}").`);
  return n;
}

function publicUrlFrom(env: NodeJS.ProcessEnv, port: number): string {
  const url = (value(env, 'PUBLIC_URL') ?? `http://localhost:${port}`).replace(/\/+$/, '');
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.search || parsed.hash) {
    throw new DemoConfigError('PUBLIC_URL', `must be the http(s) base URL people and devices reach the server at, e.g. https://auth.example.com (got "${url}").`);
  }
  return url;
}

function databaseUrl(env: NodeJS.ProcessEnv): string | undefined {
  const url = value(env, 'DATABASE_URL');
  if (url === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DemoConfigError('DATABASE_URL', 'is not a URL; use mysql://user:pass@host:3306/db.');
  }
  if (parsed.protocol !== 'mysql:' && parsed.protocol !== 'mariadb:') throw new DemoConfigError('DATABASE_URL', 'must start with mysql:// (MySQL or MariaDB).');
  if (parsed.pathname.length < 2) throw new DemoConfigError('DATABASE_URL', 'must name the database, e.g. mysql://user:pass@host:3306/db.');
  try {
    [parsed.username, parsed.password, parsed.pathname].forEach((part) => decodeURIComponent(part));
  } catch {
    throw new DemoConfigError('DATABASE_URL', 'has a broken %-escape; write a literal % in the password as %25.');
  }
  return url;
}

function clients(env: NodeJS.ProcessEnv): DeviceClientConfig[] {
  const raw = value(env, 'DEVICE_AUTH_CLIENTS');
  if (raw === undefined) return DEFAULT_CLIENTS;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new DemoConfigError('DEVICE_AUTH_CLIENTS', 'is not valid JSON; give an array like [{"clientId":"cli","name":"My CLI","scopes":["read"]}].');
  }
  const shape =
    'must be a non-empty JSON array of clients, each {"clientId": string, "name": string, "scopes": [string], "secret"?: string, "refreshTokens"?: boolean}.';
  if (!Array.isArray(parsed) || parsed.length === 0) throw new DemoConfigError('DEVICE_AUTH_CLIENTS', shape);
  for (const client of parsed as Partial<Record<keyof DeviceClientConfig, unknown>>[]) {
    const valid =
      typeof client === 'object' &&
      client !== null &&
      typeof client.clientId === 'string' &&
      typeof client.name === 'string' &&
      Array.isArray(client.scopes) &&
      client.scopes.every((scope) => typeof scope === 'string') &&
      (client.secret === undefined || typeof client.secret === 'string') &&
      (client.refreshTokens === undefined || typeof client.refreshTokens === 'boolean');
    if (!valid) throw new DemoConfigError('DEVICE_AUTH_CLIENTS', shape);
    const problem = clientConfigProblem(client as DeviceClientConfig);
    if (problem) throw new DemoConfigError('DEVICE_AUTH_CLIENTS', problem);
  }
  return parsed as DeviceClientConfig[];
}

function users(env: NodeJS.ProcessEnv): Map<string, string> {
  const raw = value(env, 'DEMO_USERS') ?? 'demo:demo';
  const map = new Map<string, string>();
  for (const entry of raw.split(',')) {
    const colon = entry.indexOf(':');
    const name = entry.slice(0, colon).trim();
    if (colon < 1 || name === '' || entry.slice(colon + 1) === '') throw new DemoConfigError('DEMO_USERS', 'must look like name:password,name2:password2.');
    if (map.has(name)) throw new DemoConfigError('DEMO_USERS', `lists "${name}" twice.`);
    map.set(name, entry.slice(colon + 1));
  }
  return map;
}
