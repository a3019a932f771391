import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bigintTransformer } from './bigint.transformer';

/** A client registered at run time (`clientRegistry: 'database'`); the secret only as SHA-256. */
@Entity('device_auth_clients')
export class DeviceAuthClient {
  @PrimaryColumn({ name: 'client_id', type: 'varchar', length: 128 })
  clientId!: string;

  @Column({ type: 'varchar', length: 191 })
  name!: string;

  /** Space-separated. */
  @Column({ type: 'varchar', length: 1024 })
  scopes!: string;

  /** Space-separated. */
  @Column({ name: 'default_scopes', type: 'varchar', length: 1024 })
  defaultScopes!: string;

  /** SHA-256 hex of the secret; null for a public client. */
  @Column({ name: 'secret_hash', type: 'varchar', length: 64, nullable: true })
  secretHash!: string | null;

  @Column({ name: 'refresh_tokens', type: 'boolean' })
  refreshTokens!: boolean;

  @Column({ name: 'created_at', type: 'bigint', transformer: bigintTransformer })
  createdAt!: number;
}
