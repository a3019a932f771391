import { DeviceClientConfig } from './client.interface';

const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/**
 * What is wrong with one client's configuration, in a sentence that says what to fix;
 * undefined when nothing is. Shared by the boot-time options check and run-time registration.
 */
export function clientConfigProblem(client: DeviceClientConfig): string | undefined {
  if (!client || typeof client.clientId !== 'string' || client.clientId === '' || client.clientId.length > 128) {
    return 'each client needs a clientId of 1 to 128 characters.';
  }
  const id = client.clientId;
  if (typeof client.name !== 'string' || client.name === '' || client.name.length > 191) return `client "${id}" needs a name of 1 to 191 characters.`;
  if (!Array.isArray(client.scopes) || client.scopes.some((s) => typeof s !== 'string' || !SCOPE_TOKEN.test(s))) {
    return `client "${id}" needs scopes: an array of scope tokens.`;
  }
  const extra = (client.defaultScopes ?? []).filter((s) => !client.scopes.includes(s));
  if (extra.length) return `client "${id}" has default scopes it is not allowed: ${extra.join(', ')}.`;
  if (client.secret !== undefined && (typeof client.secret !== 'string' || client.secret.length < 16)) {
    return `client "${id}" has a secret shorter than 16 characters.`;
  }
  if (client.refreshTokens !== undefined && typeof client.refreshTokens !== 'boolean') {
    return `client "${id}" has refreshTokens that is not true or false.`;
  }
  if (client.secretSha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(client.secretSha256)) {
    return `client "${id}" has a secretSha256 that is not 64 hex characters.`;
  }
  return undefined;
}
