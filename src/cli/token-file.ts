import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CliError } from './cli.errors';
import type { TokenResponse } from './device-flow.client';

/** What the token file holds (JSON). */
export interface StoredTokens {
  access_token: string;
  refresh_token?: string;
  token_type: string;
  scope?: string;
  /** ISO 8601; absent when the server did not say how long the access token lives. */
  expires_at?: string;
  server: string;
  client_id: string;
}

export function storedTokens(tokens: TokenResponse, requestedScope: string | undefined, receivedAt: number, server: string, clientId: string): StoredTokens {
  return {
    access_token: tokens.access_token,
    ...(tokens.refresh_token === undefined ? {} : { refresh_token: tokens.refresh_token }),
    token_type: tokens.token_type,
    // RFC 6749 §5.1: an absent scope is the one that was asked for.
    ...((tokens.scope ?? requestedScope) === undefined ? {} : { scope: tokens.scope ?? requestedScope }),
    ...(tokens.expires_in === undefined ? {} : { expires_at: new Date(receivedAt + tokens.expires_in * 1000).toISOString() }),
    server,
    client_id: clientId,
  };
}

/**
 * Writes the tokens readable only by the user: directories it creates get 0700, the file 0600.
 * The file is written beside the target under a fresh name ('wx' never follows an existing
 * file or link) and renamed over it, so a reader never sees half a file and an older file's
 * looser mode never carries over.
 */
export function saveTokens(path: string, tokens: StoredTokens): void {
  const dir = dirname(path);
  const temporary = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(temporary, `${JSON.stringify(tokens, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw new CliError(`Cannot store the tokens in ${path}: ${(error as Error).message}`);
  }
}
