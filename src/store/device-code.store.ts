import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, LessThanOrEqual, QueryResult, Repository } from 'typeorm';
import { generateDeviceCode, sha256Hex } from '../codes/device-code';
import { formatUserCode, generateUserCode, isWellFormedUserCode, normalizeUserCode } from '../codes/user-code';
import { DEVICE_AUTH_CONFIG } from '../device-auth.constants';
import type { DeviceAuthConfig } from '../device-auth.options';
import { DeviceCode, DeviceCodeAction } from '../entities/device-code.entity';
import { RateLimitCounter } from '../entities/rate-limit.entity';
import { isMysqlFamily, isUniqueViolation } from './db-errors';
import { deleteInBatches } from './batched-delete';

/** Where and how the device asked; shown on the confirmation page. */
export interface DeviceRequestContext {
  ip?: string;
  userAgent?: string;
}

/** RFC 8628 §3.2 response body. */
export interface DeviceAuthorizationResponse {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

/**
 * Every draw collided with a live code: the user-code space is nearly full (far too short a
 * code for the traffic) or the generator is broken. Worth a retry, never a 500.
 */
export class UserCodesExhaustedError extends Error {
  constructor() {
    super(`No free user code after ${INSERT_ATTEMPTS} draws; the user-code space is too small for the number of live codes.`);
    this.name = 'UserCodesExhaustedError';
  }
}

/** What one poll of the token endpoint found, in the order the spec checks it. */
export type PollResult =
  | { outcome: 'authorized'; code: DeviceCode }
  | { outcome: 'authorization_pending' }
  | { outcome: 'slow_down'; interval: number }
  | { outcome: 'access_denied' }
  | { outcome: 'expired_token' }
  | { outcome: 'invalid_grant'; reason: 'unknown' | 'consumed' };

const INSERT_ATTEMPTS = 5;
/** Reads of one poll when the row keeps changing under it (see `recordPoll`). */
const POLL_ATTEMPTS = 3;

/**
 * Every device-code operation. Each state change is a single conditional UPDATE, so the
 * database decides races: two approvals, approve against deny, or ten polls after approval
 * have exactly one winner, across any number of instances.
 */
@Injectable()
export class DeviceCodeStore {
  private readonly logger = new Logger('DeviceAuth');
  private readonly mysql: boolean;

  constructor(
    @InjectRepository(DeviceCode) private readonly codes: Repository<DeviceCode>,
    @InjectRepository(RateLimitCounter) private readonly counters: Repository<RateLimitCounter>,
    @Inject(DEVICE_AUTH_CONFIG) private readonly config: DeviceAuthConfig,
  ) {
    this.mysql = isMysqlFamily(codes.manager.connection.options.type);
  }

  /** A fresh user code in its displayed form, e.g. `BDWP-HQPK`. */
  generateUserCode(): string {
    return formatUserCode(generateUserCode(this.config.userCodeFormat));
  }

  generateDeviceCode(): string {
    return generateDeviceCode();
  }

  /**
   * Starts a session: one INSERT (user_id, last_polled_at and decided_at start NULL). Uniqueness is the indexes' job; a duplicate key (a user code
   * drawn twice) is retried with new codes rather than checked for first, which would race.
   */
  async createDeviceCode(clientId: string, scope = '', context: DeviceRequestContext = {}): Promise<DeviceAuthorizationResponse> {
    for (let attempt = 1; ; attempt++) {
      const deviceCode = this.generateDeviceCode();
      const userCode = this.generateUserCode();
      const now = this.config.clock.now();
      try {
        await this.run(
          'INSERT INTO device_codes (device_code_hash, user_code, client_id, scope, status, interval_seconds, expires_at, created_at, requester_ip, requester_user_agent) ' +
            "VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?)",
          [
            sha256Hex(deviceCode),
            normalizeUserCode(userCode, this.config.userCodeFormat),
            clientId,
            scope,
            this.config.pollIntervalSeconds,
            now + this.config.deviceCodeTtlSeconds * 1000,
            now,
            context.ip?.slice(0, 64) ?? null,
            context.userAgent?.slice(0, 512) ?? null,
          ],
        );
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        if (attempt < INSERT_ATTEMPTS) continue;
        throw new UserCodesExhaustedError();
      }
      return {
        device_code: deviceCode,
        user_code: userCode,
        verification_uri: this.config.verificationUri,
        verification_uri_complete: `${this.config.verificationUri}?user_code=${encodeURIComponent(userCode)}`,
        expires_in: this.config.deviceCodeTtlSeconds,
        interval: this.config.pollIntervalSeconds,
      };
    }
  }

  /** The code a person typed, however spaced or cased; null when there is no such code. */
  async findByUserCode(input: string): Promise<DeviceCode | null> {
    const userCode = normalizeUserCode(input, this.config.userCodeFormat);
    if (!isWellFormedUserCode(userCode, this.config.userCodeFormat)) return null;
    return this.codes.findOneBy({ userCode });
  }

  /** True when this call moved the code from pending to authorized. */
  authorizeDeviceCode(userCode: string, userId: string): Promise<boolean> {
    return this.decide('authorize', userCode, userId);
  }

  /** True when this call moved the code from pending to denied. */
  denyDeviceCode(userCode: string, userId: string | null = null): Promise<boolean> {
    return this.decide('deny', userCode, userId);
  }

  /**
   * The token endpoint's lookup and state step, in the spec's order: the code bound to the
   * client, then expiry (in every state), denied, consumed, authorized (the caller then issues
   * and `redeem`s), and pending (throttled: a poll sooner than interval - 0.5 s is slowed).
   * Two statements in every case: the read, and for a pending code the write that records the
   * poll. Only a lost race on the same code (see `recordPoll`) reads again.
   */
  async pollDeviceCode(deviceCode: string, clientId: string): Promise<PollResult> {
    const hash = sha256Hex(deviceCode);
    for (let attempt = 1; ; attempt++) {
      const code = await this.findByHash(hash);
      if (!code || code.clientId !== clientId) return { outcome: 'invalid_grant', reason: 'unknown' };
      const now = this.config.clock.now();
      if (code.isExpired(now)) return { outcome: 'expired_token' };
      switch (code.status) {
        case 'denied':
          return { outcome: 'access_denied' };
        case 'consumed':
          return { outcome: 'invalid_grant', reason: 'consumed' };
        case 'authorized':
          return { outcome: 'authorized', code };
        case 'pending': {
          const recorded = await this.recordPoll(code, now);
          if (recorded) return recorded;
          // A lost race leaves a poll too early, and that write cannot lose, so this bound is
          // never reached in practice; a row changing under every read is slowed all the same.
          if (attempt === POLL_ATTEMPTS) return { outcome: 'slow_down', interval: code.intervalSeconds };
        }
      }
    }
  }

  /**
   * Marks an authorized code consumed: one conditional UPDATE, so of any number of concurrent
   * redemptions exactly one gets true. The caller issues the tokens first and keeps them only
   * then, so a failure while issuing leaves the code redeemable.
   */
  redeem(code: DeviceCode): Promise<boolean> {
    return this.transition(code, 'consume', this.config.clock.now());
  }

  /**
   * Deletes codes that expired, or were denied or redeemed, more than `purgeRetentionSeconds`
   * ago, and closed rate-limit windows; in bounded batches, so a large purge never holds long
   * locks. An approved code waiting for its poll is kept until it expires. Returns how many
   * codes went.
   */
  async purgeExpired(): Promise<number> {
    const now = this.config.clock.now();
    const cutoff = now - this.config.purgeRetentionSeconds * 1000;
    const batch = this.config.purgeBatchSize;
    const expired = await deleteInBatches(this.codes, 'id', { expiresAt: LessThanOrEqual(cutoff) }, batch);
    const decided = await deleteInBatches(this.codes, 'id', { status: In(['denied', 'consumed']), decidedAt: LessThanOrEqual(cutoff) }, batch);
    await deleteInBatches(this.counters, 'bucketKey', { windowEndsAt: LessThanOrEqual(now) }, batch);
    const purged = expired + decided;
    if (purged > 0) this.logger.log(`purged ${purged} device codes`);
    return purged;
  }

  private async decide(action: 'authorize' | 'deny', userCodeInput: string, userId: string | null): Promise<boolean> {
    const userCode = normalizeUserCode(userCodeInput, this.config.userCodeFormat);
    if (!isWellFormedUserCode(userCode, this.config.userCodeFormat)) return false;
    const now = this.config.clock.now();
    const { from, to } = DeviceCode.TRANSITIONS[action];
    const result = await this.codes
      .createQueryBuilder()
      .update(DeviceCode)
      .set({ status: to, userId, decidedAt: now })
      .where('user_code = :userCode AND status = :from AND expires_at > :now', { userCode, from, now })
      .updateEntity(false)
      .execute();
    return result.affected === 1;
  }

  /** The conditional UPDATE behind a domain transition, for a row already read. */
  private async transition(code: DeviceCode, action: DeviceCodeAction, now: number): Promise<boolean> {
    const { from, to } = DeviceCode.TRANSITIONS[action];
    const result = await this.codes
      .createQueryBuilder()
      .update(DeviceCode)
      .set({ status: to })
      .where('id = :id AND status = :from AND expires_at > :now', { id: code.id, from, now })
      .updateEntity(false)
      .execute();
    return result.affected === 1;
  }

  /**
   * Records a pending poll in one UPDATE. On time: a compare-and-set against the poll time as
   * read, so of parallel polls only one is on time; the others find the row changed (null: the
   * caller reads it again, and they are now too early). Too early: the interval grows in SQL
   * (capped) and the statement hands back the value it stored, so parallel slow_downs each add
   * theirs and each device is told exactly what the row holds. The state lives in the row, so
   * throttling holds across restarts and instances. Null too when the code left pending meanwhile.
   */
  private async recordPoll(code: DeviceCode, now: number): Promise<PollResult | null> {
    const tooEarly = code.lastPolledAt !== null && now - code.lastPolledAt < code.intervalSeconds * 1000 - 500;
    if (tooEarly) {
      const interval = await this.growInterval(code.id, now);
      return interval === null ? null : { outcome: 'slow_down', interval };
    }
    const { affected } = await this.run(
      `UPDATE device_codes SET last_polled_at = ? WHERE id = ? AND status = 'pending' AND expires_at > ? AND ` +
        (code.lastPolledAt === null ? 'last_polled_at IS NULL' : 'last_polled_at = ?'),
      [now, code.id, now, ...(code.lastPolledAt === null ? [] : [code.lastPolledAt])],
    );
    return affected === 1 ? { outcome: 'authorization_pending' } : null;
  }

  /**
   * slow_down's write: the interval plus the increment, capped, and the poll's time; returns the
   * interval now stored, or null when the code is no longer pending. The new value comes back in
   * the statement's own reply (MySQL's LAST_INSERT_ID(expr), SQLite's RETURNING), as the rate
   * limiter's counters do.
   */
  private async growInterval(id: number, now: number): Promise<number | null> {
    const grown = 'CASE WHEN interval_seconds + ? > ? THEN ? ELSE interval_seconds + ? END';
    const where = "WHERE id = ? AND status = 'pending' AND expires_at > ?";
    const { slowDownIncrementSeconds: step, maxPollIntervalSeconds: cap } = this.config;
    const parameters = [step, cap, cap, step, now, id, now];
    if (this.mysql) {
      const { affected, raw } = await this.run(`UPDATE device_codes SET interval_seconds = LAST_INSERT_ID(${grown}), last_polled_at = ? ${where}`, parameters);
      return affected === 1 ? Number((raw as { insertId: number }).insertId) : null;
    }
    const { records } = await this.run(`UPDATE device_codes SET interval_seconds = ${grown}, last_polled_at = ? ${where} RETURNING interval_seconds`, parameters);
    return records.length === 1 ? Number((records[0] as { interval_seconds: number }).interval_seconds) : null;
  }

  /** The poll's read, by the unique hash index. */
  private async findByHash(hash: string): Promise<DeviceCode | null> {
    const { records } = await this.run('SELECT * FROM device_codes WHERE device_code_hash = ?', [hash]);
    return records.length === 1 ? DeviceCode.fromRow(records[0] as Record<string, unknown>) : null;
  }

  /**
   * The statements of the hot paths (create and poll), as plain SQL through TypeORM's query
   * runner: the query builder's SQL generation costs more CPU than the statements themselves.
   */
  private async run(sql: string, parameters: unknown[]): Promise<QueryResult> {
    const runner = this.codes.manager.connection.createQueryRunner();
    try {
      return await runner.query(sql, parameters, true);
    } finally {
      await runner.release();
    }
  }
}
