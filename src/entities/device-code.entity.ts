import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintTransformer } from './bigint.transformer';

export type DeviceCodeStatus = 'pending' | 'authorized' | 'denied' | 'consumed';
export type DeviceCodeAction = 'authorize' | 'deny' | 'consume';

/** Raised when a domain method is asked for a move the state machine does not allow. */
export class IllegalDeviceCodeTransitionError extends Error {
  constructor(action: DeviceCodeAction, status: DeviceCodeStatus, expired: boolean) {
    super(
      `Cannot ${action} a device code that is ${expired ? 'expired' : status}; ` +
        `only a ${DeviceCode.TRANSITIONS[action].from}, unexpired code can be ${DeviceCode.TRANSITIONS[action].to}.`,
    );
    this.name = 'IllegalDeviceCodeTransitionError';
  }
}

/**
 * One device authorization session. Times are epoch milliseconds (BIGINT) so that the same
 * comparisons work on MySQL and SQLite and `last_polled_at` keeps millisecond precision.
 * "Expired" is never stored: a code is expired from `expiresAt` on, whatever its status.
 */
@Entity('device_codes')
@Index('uq_device_codes_device_code_hash', ['deviceCodeHash'], { unique: true })
@Index('uq_device_codes_user_code', ['userCode'], { unique: true })
@Index('idx_device_codes_expires_at', ['expiresAt'])
// For the purge of denied and redeemed codes; polls never write this column.
@Index('idx_device_codes_decided_at', ['decidedAt'])
export class DeviceCode {
  /**
   * The whole state machine. The store turns each entry into a conditional UPDATE
   * (`WHERE status = from AND expires_at > now`) so that concurrent requests cannot both win.
   */
  static readonly TRANSITIONS: Readonly<Record<DeviceCodeAction, { from: DeviceCodeStatus; to: DeviceCodeStatus }>> = {
    authorize: { from: 'pending', to: 'authorized' },
    deny: { from: 'pending', to: 'denied' },
    consume: { from: 'authorized', to: 'consumed' },
  };

  @PrimaryColumn({ type: 'bigint', generated: 'increment', transformer: bigintTransformer })
  id!: number;

  /** SHA-256 hex of the device code; the plain code is never stored. */
  @Column({ name: 'device_code_hash', type: 'varchar', length: 64 })
  deviceCodeHash!: string;

  /** Normalised form (no dash), unique. */
  @Column({ name: 'user_code', type: 'varchar', length: 16 })
  userCode!: string;

  @Column({ name: 'client_id', type: 'varchar', length: 128 })
  clientId!: string;

  /** Space-separated scopes the device asked for (after defaults were applied). */
  @Column({ type: 'varchar', length: 1024 })
  scope!: string;

  @Column({ type: 'varchar', length: 16 })
  status!: DeviceCodeStatus;

  @Column({ name: 'user_id', type: 'varchar', length: 191, nullable: true })
  userId!: string | null;

  /** Current polling interval; grows with every slow_down and stays grown. */
  @Column({ name: 'interval_seconds', type: 'int' })
  intervalSeconds!: number;

  @Column({ name: 'last_polled_at', type: 'bigint', nullable: true, transformer: bigintTransformer })
  lastPolledAt!: number | null;

  @Column({ name: 'expires_at', type: 'bigint', transformer: bigintTransformer })
  expiresAt!: number;

  @Column({ name: 'created_at', type: 'bigint', transformer: bigintTransformer })
  createdAt!: number;

  @Column({ name: 'decided_at', type: 'bigint', nullable: true, transformer: bigintTransformer })
  decidedAt!: number | null;

  @Column({ name: 'requester_ip', type: 'varchar', length: 64, nullable: true })
  requesterIp!: string | null;

  @Column({ name: 'requester_user_agent', type: 'varchar', length: 512, nullable: true })
  requesterUserAgent!: string | null;

  /**
   * The entity's fields from a raw `SELECT *` row (the poll path reads without the query
   * builder). BIGINTs arrive as strings from mysql2 and as numbers from better-sqlite3.
   */
  static fromRow(row: Record<string, unknown>): DeviceCode {
    const int = (value: unknown) => (value === null ? null : Number(value));
    return Object.assign(new DeviceCode(), {
      id: Number(row.id),
      deviceCodeHash: row.device_code_hash as string,
      userCode: row.user_code as string,
      clientId: row.client_id as string,
      scope: row.scope as string,
      status: row.status as DeviceCodeStatus,
      userId: row.user_id as string | null,
      intervalSeconds: Number(row.interval_seconds),
      lastPolledAt: int(row.last_polled_at),
      expiresAt: Number(row.expires_at),
      createdAt: Number(row.created_at),
      decidedAt: int(row.decided_at),
      requesterIp: row.requester_ip as string | null,
      requesterUserAgent: row.requester_user_agent as string | null,
    });
  }

  isExpired(now: number): boolean {
    return now >= this.expiresAt;
  }

  /** Whether `action` is legal now; the same rule the store's conditional UPDATEs enforce. */
  can(action: DeviceCodeAction, now: number): boolean {
    return this.status === DeviceCode.TRANSITIONS[action].from && !this.isExpired(now);
  }

  authorize(userId: string, now: number): void {
    this.apply('authorize', now);
    this.userId = userId;
    this.decidedAt = now;
  }

  deny(userId: string | null, now: number): void {
    this.apply('deny', now);
    this.userId = userId;
    this.decidedAt = now;
  }

  consume(now: number): void {
    this.apply('consume', now);
  }

  private apply(action: DeviceCodeAction, now: number): void {
    if (!this.can(action, now)) throw new IllegalDeviceCodeTransitionError(action, this.status, this.isExpired(now));
    this.status = DeviceCode.TRANSITIONS[action].to;
  }
}
