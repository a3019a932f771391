import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { LessThanOrEqual, Repository } from 'typeorm';
import { generateDeviceCode, sha256Hex } from '../codes/device-code';
import { formatUserCode, generateUserCode, isWellFormedUserCode, normalizeUserCode } from '../codes/user-code';
import { DEVICE_AUTH_CONFIG } from '../device-auth.constants';
import type { DeviceAuthConfig } from '../device-auth.options';
import { DeviceCode, DeviceCodeAction } from '../entities/device-code.entity';
import { RateLimitCounter } from '../entities/rate-limit.entity';
import { isUniqueViolation } from './db-errors';
import { deleteExpired } from './delete-expired';

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

/** What one poll of the token endpoint found, in the order the spec checks it. */
export type PollResult =
  | { outcome: 'authorized'; code: DeviceCode }
  | { outcome: 'authorization_pending' }
  | { outcome: 'slow_down'; interval: number }
  | { outcome: 'access_denied' }
  | { outcome: 'expired_token' }
  | { outcome: 'invalid_grant'; reason: 'unknown' | 'consumed' };

const INSERT_ATTEMPTS = 5;

/**
 * Every device-code operation. Each state change is a single conditional UPDATE, so the
 * database decides races: two approvals, approve against deny, or ten polls after approval
 * have exactly one winner, across any number of instances.
 */
@Injectable()
export class DeviceCodeStore {
  private readonly logger = new Logger('DeviceAuth');

  constructor(
    @InjectRepository(DeviceCode) private readonly codes: Repository<DeviceCode>,
    @InjectRepository(RateLimitCounter) private readonly counters: Repository<RateLimitCounter>,
    @Inject(DEVICE_AUTH_CONFIG) private readonly config: DeviceAuthConfig,
  ) {}

  /** A fresh user code in its displayed form, e.g. `BDWP-HQPK`. */
  generateUserCode(): string {
    return formatUserCode(generateUserCode(this.config.userCodeFormat));
  }

  generateDeviceCode(): string {
    return generateDeviceCode();
  }

  /**
   * Starts a session: one INSERT. Uniqueness is the indexes' job; a duplicate key (a user code
   * drawn twice) is retried with new codes rather than checked for first, which would race.
   */
  async createDeviceCode(clientId: string, scope = '', context: DeviceRequestContext = {}): Promise<DeviceAuthorizationResponse> {
    for (let attempt = 1; ; attempt++) {
      const deviceCode = this.generateDeviceCode();
      const userCode = this.generateUserCode();
      const now = this.config.clock.now();
      try {
        await this.codes
          .createQueryBuilder()
          .insert()
          .into(DeviceCode)
          .values({
            deviceCodeHash: sha256Hex(deviceCode),
            userCode: normalizeUserCode(userCode, this.config.userCodeFormat),
            clientId,
            scope,
            status: 'pending',
            userId: null,
            intervalSeconds: this.config.pollIntervalSeconds,
            lastPolledAt: null,
            expiresAt: now + this.config.deviceCodeTtlSeconds * 1000,
            createdAt: now,
            decidedAt: null,
            requesterIp: context.ip?.slice(0, 64) ?? null,
            requesterUserAgent: context.userAgent?.slice(0, 512) ?? null,
          })
          .updateEntity(false)
          .execute();
      } catch (error) {
        if (isUniqueViolation(error) && attempt < INSERT_ATTEMPTS) continue;
        throw error;
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
   */
  async pollDeviceCode(deviceCode: string, clientId: string): Promise<PollResult> {
    const code = await this.codes.findOneBy({ deviceCodeHash: sha256Hex(deviceCode) });
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
      case 'pending':
        return this.throttle(code, now, deviceCode, clientId);
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
   * Deletes codes past their expiry (whatever their state) and closed rate-limit windows, in
   * bounded batches so a large purge never holds long locks. Returns how many codes went.
   */
  async purgeExpired(): Promise<number> {
    const now = this.config.clock.now();
    const purged = await deleteExpired(this.codes, now);
    await this.counters.delete({ windowEndsAt: LessThanOrEqual(now) });
    if (purged > 0) this.logger.log(`purged ${purged} expired device codes`);
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
   * A pending poll: one UPDATE records the poll when it came late enough; otherwise a second
   * one grows the interval (capped) and `slow_down` is answered. The interval lives in the row,
   * so throttling holds across restarts and instances. If neither UPDATE matched, the code left
   * pending meanwhile (approved, denied or expired): the poll is answered afresh.
   */
  private async throttle(code: DeviceCode, now: number, deviceCode: string, clientId: string): Promise<PollResult> {
    const earliest = now - (code.intervalSeconds * 1000 - 500);
    const onTime = await this.codes
      .createQueryBuilder()
      .update(DeviceCode)
      .set({ lastPolledAt: now })
      .where("id = :id AND status = 'pending' AND expires_at > :now AND (last_polled_at IS NULL OR last_polled_at <= :earliest)", {
        id: code.id,
        now,
        earliest,
      })
      .updateEntity(false)
      .execute();
    if (onTime.affected === 1) return { outcome: 'authorization_pending' };

    const increment = this.config.slowDownIncrementSeconds;
    const cap = this.config.maxPollIntervalSeconds;
    // Grown in SQL, not from the value read above, so parallel slow_downs each add theirs.
    const slowed = await this.codes
      .createQueryBuilder()
      .update(DeviceCode)
      .set({ lastPolledAt: now, intervalSeconds: () => 'CASE WHEN interval_seconds + :increment > :cap THEN :cap ELSE interval_seconds + :increment END' })
      .where("id = :id AND status = 'pending' AND expires_at > :now", { id: code.id, now, increment, cap })
      .updateEntity(false)
      .execute();
    // The interval actually stored (parallel slow_downs may each have added theirs) is the one
    // to tell the device; reading it back costs a statement on this slow path only.
    if (slowed.affected === 1) return { outcome: 'slow_down', interval: (await this.codes.findOneByOrFail({ id: code.id })).intervalSeconds };
    return this.pollDeviceCode(deviceCode, clientId);
  }
}
