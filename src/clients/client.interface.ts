/** How a client is configured in module options (or `DEVICE_AUTH_CLIENTS`). */
export interface DeviceClientConfig {
  clientId: string;
  /** Shown on the confirmation page: "<name> wants to access your account". */
  name: string;
  /** Scopes this client may ask for. */
  scopes: string[];
  /** Granted when the device asks for none; defaults to all of `scopes`. */
  defaultScopes?: string[];
  /** Plain secret for a confidential client; it is hashed at boot and only the hash is kept. */
  secret?: string;
  /** Or the SHA-256 hex of the secret, for hosts that never want the plain value in config. */
  secretSha256?: string;
  /** Whether the client gets refresh tokens (rotated on every use). Off by default. */
  refreshTokens?: boolean;
}

/** A registered client as the module uses it: the secret is only ever a hash. */
export interface DeviceClient {
  readonly clientId: string;
  readonly name: string;
  readonly scopes: readonly string[];
  readonly defaultScopes: readonly string[];
  /** SHA-256 hex of the secret; absent for a public client. */
  readonly secretHash?: string;
  readonly refreshTokens: boolean;
}

/** Where the module finds clients. The default is the static list from the options. */
export interface ClientRegistry {
  findClient(clientId: string): Promise<DeviceClient | null>;
  /** Every scope some client may ask for, for the metadata's `scopes_supported`. */
  scopesSupported?(): Promise<string[]>;
}

/** Injection token for the `ClientRegistry` in use. */
export const ClientRegistry = Symbol('ClientRegistry');
