import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintTransformer } from './bigint.transformer';

/**
 * A fixed-window counter shared by every instance: one row per (limit, subject, window).
 * The key is a SHA-256 so that subjects (IPs, user ids) of any length fit one index.
 */
@Entity('device_auth_rate_limits')
@Index('idx_device_auth_rate_limits_window_ends_at', ['windowEndsAt'])
export class RateLimitCounter {
  @PrimaryColumn({ name: 'bucket_key', type: 'varchar', length: 64 })
  bucketKey!: string;

  @Column({ type: 'int' })
  hits!: number;

  /** When this window closes (epoch ms); rows past it are purged. */
  @Column({ name: 'window_ends_at', type: 'bigint', transformer: bigintTransformer })
  windowEndsAt!: number;
}
