import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintTransformer } from './bigint.transformer';

/** active → used (rotated) or revoked; a used token presented again revokes its whole family. */
export type RefreshTokenStatus = 'active' | 'used' | 'revoked';

/**
 * One refresh token. Only its SHA-256 is stored. Every rotation adds a row to the same family
 * (one family per device approval), so reuse detection can revoke all of them at once.
 */
@Entity('refresh_tokens')
@Index('uq_refresh_tokens_token_hash', ['tokenHash'], { unique: true })
@Index('idx_refresh_tokens_family_id', ['familyId'])
@Index('idx_refresh_tokens_expires_at', ['expiresAt'])
export class RefreshToken {
  @PrimaryColumn({ type: 'bigint', generated: 'increment', transformer: bigintTransformer })
  id!: number;

  @Column({ name: 'token_hash', type: 'varchar', length: 64 })
  tokenHash!: string;

  @Column({ name: 'family_id', type: 'varchar', length: 32 })
  familyId!: string;

  @Column({ name: 'client_id', type: 'varchar', length: 128 })
  clientId!: string;

  @Column({ name: 'user_id', type: 'varchar', length: 191 })
  userId!: string;

  @Column({ type: 'varchar', length: 1024 })
  scope!: string;

  @Column({ type: 'varchar', length: 16 })
  status!: RefreshTokenStatus;

  @Column({ name: 'expires_at', type: 'bigint', transformer: bigintTransformer })
  expiresAt!: number;

  @Column({ name: 'created_at', type: 'bigint', transformer: bigintTransformer })
  createdAt!: number;

  @Column({ name: 'used_at', type: 'bigint', nullable: true, transformer: bigintTransformer })
  usedAt!: number | null;

  isExpired(now: number): boolean {
    return now >= this.expiresAt;
  }
}
