import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import { Repository } from 'typeorm';
import { sha256Hex } from '../codes/device-code';
import { DEVICE_AUTH_CONFIG } from '../device-auth.constants';
import type { DeviceAuthConfig } from '../device-auth.options';
import { DeviceAuthClient } from '../entities/device-auth-client.entity';
import { isUniqueViolation } from '../store/db-errors';
import { clientConfigProblem } from './client-config.validation';
import { ClientRegistry, DeviceClient } from './client.interface';
import { parseScope } from './scopes';

/** What a host gives to register a client at run time; the secret is generated, never chosen. */
export interface ClientRegistration {
  clientId: string;
  name: string;
  scopes: string[];
  defaultScopes?: string[];
  /** True for a confidential client: a secret is generated and returned once. */
  confidential?: boolean;
  refreshTokens?: boolean;
}

/** Raised when a registration cannot be stored; the message says why. */
export class ClientRegistrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClientRegistrationError';
  }
}

/**
 * Clients in the `device_auth_clients` table, for hosts that manage them at run time
 * (`clientRegistry: 'database'`). Inject it to register and remove clients; secrets are
 * generated here, returned once, and stored only as SHA-256.
 */
@Injectable()
export class TypeOrmClientRegistry implements ClientRegistry {
  constructor(
    @InjectRepository(DeviceAuthClient) private readonly clients: Repository<DeviceAuthClient>,
    @Inject(DEVICE_AUTH_CONFIG) private readonly config: DeviceAuthConfig,
  ) {}

  async findClient(clientId: string): Promise<DeviceClient | null> {
    const row = await this.clients.findOneBy({ clientId });
    return row && toClient(row);
  }

  async scopesSupported(): Promise<string[]> {
    const rows = await this.clients.find({ select: { scopes: true } });
    return [...new Set(rows.flatMap((row) => parseScope(row.scopes)))];
  }

  async list(): Promise<DeviceClient[]> {
    return (await this.clients.find({ order: { clientId: 'ASC' } })).map(toClient);
  }

  /** Stores a new client; returns its secret once when it is confidential. */
  async register(registration: ClientRegistration): Promise<{ clientId: string; clientSecret?: string }> {
    const problem = clientConfigProblem(registration);
    if (problem) throw new ClientRegistrationError(problem);
    const clientSecret = registration.confidential ? randomBytes(32).toString('base64url') : undefined;
    try {
      await this.clients.insert({
        clientId: registration.clientId,
        name: registration.name,
        scopes: registration.scopes.join(' '),
        defaultScopes: (registration.defaultScopes ?? registration.scopes).join(' '),
        secretHash: clientSecret === undefined ? null : sha256Hex(clientSecret),
        refreshTokens: registration.refreshTokens === true,
        createdAt: this.config.clock.now(),
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new ClientRegistrationError(`client "${registration.clientId}" already exists.`);
      throw error;
    }
    return clientSecret === undefined ? { clientId: registration.clientId } : { clientId: registration.clientId, clientSecret };
  }

  /** Removes a client: its devices can no longer authenticate. True when it existed. */
  async remove(clientId: string): Promise<boolean> {
    return (await this.clients.delete({ clientId })).affected === 1;
  }
}

function toClient(row: DeviceAuthClient): DeviceClient {
  return {
    clientId: row.clientId,
    name: row.name,
    scopes: parseScope(row.scopes),
    defaultScopes: parseScope(row.defaultScopes),
    secretHash: row.secretHash ?? undefined,
    refreshTokens: Boolean(row.refreshTokens),
  };
}
