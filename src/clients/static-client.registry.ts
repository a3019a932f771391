import { sha256Hex } from '../codes/device-code';
import { ClientRegistry, DeviceClient, DeviceClientConfig } from './client.interface';

/** Clients fixed at boot, from module options. */
export class StaticClientRegistry implements ClientRegistry {
  private readonly clients: ReadonlyMap<string, DeviceClient>;

  constructor(configs: readonly DeviceClientConfig[]) {
    this.clients = new Map(configs.map((config) => [config.clientId, toClient(config)]));
  }

  async findClient(clientId: string): Promise<DeviceClient | null> {
    return this.clients.get(clientId) ?? null;
  }

  async scopesSupported(): Promise<string[]> {
    return [...new Set([...this.clients.values()].flatMap((client) => client.scopes))];
  }
}

function toClient(config: DeviceClientConfig): DeviceClient {
  const secretHash = config.secretSha256?.toLowerCase() ?? (config.secret ? sha256Hex(config.secret) : undefined);
  return {
    clientId: config.clientId,
    name: config.name,
    scopes: [...config.scopes],
    defaultScopes: [...(config.defaultScopes ?? config.scopes)],
    secretHash,
    refreshTokens: config.refreshTokens === true,
  };
}
