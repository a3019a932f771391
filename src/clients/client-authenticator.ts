import { constantTimeEqual, sha256Hex } from '../codes/device-code';
import { InvalidClientError, InvalidRequestError } from '../oauth/oauth.errors';
import { ClientRegistry, DeviceClient } from './client.interface';

export interface ClientCredentialParams {
  client_id?: string;
  client_secret?: string;
}

/**
 * RFC 6749 §2.3: a public client sends `client_id` only; a confidential one sends its secret by
 * HTTP Basic or in the body, never both. Every failure is `invalid_client` (401), challenged with
 * `WWW-Authenticate` when Basic was tried.
 */
export async function authenticateClient(
  registry: ClientRegistry,
  authorization: string | undefined,
  params: ClientCredentialParams,
): Promise<DeviceClient> {
  const basic = parseBasic(authorization);
  const usedBasic = basic !== undefined;
  if (basic && params.client_secret !== undefined) {
    throw new InvalidRequestError('Use one client authentication method: HTTP Basic or client_secret in the body, not both.');
  }
  if (basic && params.client_id !== undefined && params.client_id !== basic.clientId) {
    throw new InvalidRequestError('The client_id in the body differs from the one in the Authorization header.');
  }
  const clientId = basic?.clientId ?? params.client_id;
  const secret = basic?.secret ?? params.client_secret;
  if (clientId === undefined) throw new InvalidClientError('No client authentication was included: send client_id.', usedBasic);

  const client = await registry.findClient(clientId);
  if (!client) throw new InvalidClientError('Client authentication failed.', usedBasic);
  if (client.secretHash === undefined) {
    if (secret !== undefined) throw new InvalidClientError('This is a public client: send client_id without a secret.', usedBasic);
    return client;
  }
  if (secret === undefined || !constantTimeEqual(sha256Hex(secret), client.secretHash)) {
    throw new InvalidClientError('Client authentication failed.', usedBasic);
  }
  return client;
}

/**
 * `Basic base64(urlencode(id):urlencode(secret))`; undefined when another scheme or none is used.
 * An empty secret is absent, as an empty `client_secret` in the body is: `id:` names a public client.
 */
function parseBasic(authorization: string | undefined): { clientId: string; secret?: string } | undefined {
  if (authorization === undefined) return undefined;
  const match = /^Basic +([A-Za-z0-9+/]+=*) *$/i.exec(authorization);
  if (!/^Basic(\s|$)/i.test(authorization)) return undefined;
  const decoded = match ? Buffer.from(match[1], 'base64').toString('utf8') : '';
  const colon = decoded.indexOf(':');
  if (colon < 1) throw new InvalidClientError('The Authorization header is not valid HTTP Basic credentials.', true);
  try {
    const secret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' '));
    return { clientId: decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' ')), secret: secret === '' ? undefined : secret };
  } catch {
    throw new InvalidClientError('The Authorization header is not valid HTTP Basic credentials.', true);
  }
}
