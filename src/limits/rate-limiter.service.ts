import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, MoreThan, Repository } from 'typeorm';
import { sha256Hex } from '../codes/device-code';
import { DEVICE_AUTH_CONFIG } from '../device-auth.constants';
import type { DeviceAuthConfig } from '../device-auth.options';
import { RateLimitCounter } from '../entities/rate-limit.entity';
import { isMysqlFamily } from '../store/db-errors';

/** A fixed-window limit: at most `limit` hits per `windowSeconds` for each subject. */
export interface RateLimit {
  name: string;
  limit: number;
  windowSeconds: number;
}

export interface RateLimitVerdict {
  allowed: boolean;
  /** Seconds until the window that refused closes; 0 when allowed. */
  retryAfterSeconds: number;
}

/**
 * Counters in the database, so every instance and every restart sees the same counts.
 * One UPSERT per hit; subjects are hashed into the key, so no IP or user id is stored plainly.
 */
@Injectable()
export class RateLimiter {
  private readonly mysql: boolean;

  constructor(
    @InjectRepository(RateLimitCounter) private readonly counters: Repository<RateLimitCounter>,
    @Inject(DEVICE_AUTH_CONFIG) private readonly config: DeviceAuthConfig,
  ) {
    this.mysql = isMysqlFamily(counters.manager.connection.options.type);
  }

  /** Would any of these subjects be refused now? Counts nothing. */
  async check(limit: RateLimit, subjects: string[]): Promise<RateLimitVerdict> {
    const now = this.config.clock.now();
    const window = this.window(limit, now);
    const rows = await this.counters.findBy({ bucketKey: In(subjects.map((s) => this.key(limit, s, window.start))), windowEndsAt: MoreThan(now) });
    const full = rows.some((row) => row.hits >= limit.limit);
    return full ? { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((window.end - now) / 1000)) } : { allowed: true, retryAfterSeconds: 0 };
  }

  /** Counts one hit for each subject; refused when any of them is now over the limit. */
  async hit(limit: RateLimit, subjects: string[]): Promise<RateLimitVerdict> {
    const now = this.config.clock.now();
    const window = this.window(limit, now);
    const keys = subjects.map((s) => this.key(limit, s, window.start));
    for (const key of keys) await this.increment(key, window.end);
    const rows = await this.counters.findBy({ bucketKey: In(keys) });
    const over = rows.some((row) => row.hits > limit.limit);
    return over ? { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((window.end - now) / 1000)) } : { allowed: true, retryAfterSeconds: 0 };
  }

  private async increment(key: string, windowEndsAt: number): Promise<void> {
    const sql = this.mysql
      ? 'INSERT INTO device_auth_rate_limits (bucket_key, hits, window_ends_at) VALUES (?, 1, ?) ON DUPLICATE KEY UPDATE hits = hits + 1'
      : 'INSERT INTO device_auth_rate_limits (bucket_key, hits, window_ends_at) VALUES (?, 1, ?) ON CONFLICT (bucket_key) DO UPDATE SET hits = hits + 1';
    await this.counters.query(sql, [key, windowEndsAt]);
  }

  private window(limit: RateLimit, now: number): { start: number; end: number } {
    const size = limit.windowSeconds * 1000;
    const start = Math.floor(now / size) * size;
    return { start, end: start + size };
  }

  private key(limit: RateLimit, subject: string, windowStart: number): string {
    return sha256Hex(`${limit.name}\n${subject}\n${windowStart}`);
  }
}
