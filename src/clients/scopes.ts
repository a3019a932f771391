import { InvalidScopeError } from '../oauth/oauth.errors';
import { DeviceClient } from './client.interface';

/** RFC 6749 §3.3 scope-token characters. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

export function parseScope(scope: string): string[] {
  return [...new Set(scope.split(' ').filter((token) => token !== ''))];
}

/**
 * The scopes a device gets: what it asked for, each one allowed for the client, or the
 * client's defaults when it asked for none. Returned space-separated, in request order.
 */
export function resolveScopes(client: DeviceClient, requested: string | undefined): string {
  if (requested === undefined) return client.defaultScopes.join(' ');
  const tokens = parseScope(requested);
  for (const token of tokens) {
    if (!SCOPE_TOKEN.test(token)) throw new InvalidScopeError('The scope parameter has characters a scope cannot contain.');
    if (!client.scopes.includes(token)) throw new InvalidScopeError(`The scope '${token}' is not allowed for this client.`);
  }
  return tokens.length === 0 ? client.defaultScopes.join(' ') : tokens.join(' ');
}
