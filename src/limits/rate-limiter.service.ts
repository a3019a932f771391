import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
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

  /** Counts one hit for each subject; refused when any of them is now over the limit. */
  async hit(limit: RateLimit, subjects: string[]): Promise<RateLimitVerdict> {
    const now = this.config.clock.now();
    const window = this.window(limit, now);
    let over = false;
    for (const subject of subjects) {
      // Each hit is judged by the count its own increment produced, so parallel hits are
      // ordered by the database and never more than `limit` of them are allowed.
      if ((await this.increment(this.key(limit, subject, window.start), window.end)) > limit.limit) over = true;
    }
    return over ? { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((window.end - now) / 1000)) } : { allowed: true, retryAfterSeconds: 0 };
  }

  /** Gives back one hit for each subject: an attempt reserved with `hit` that turned out fine. */
  async refund(limit: RateLimit, subjects: string[]): Promise<void> {
    const window = this.window(limit, this.config.clock.now());
    const keys = subjects.map((s) => this.key(limit, s, window.start));
    await this.counters
      .createQueryBuilder()
      .update(RateLimitCounter)
      .set({ hits: () => 'hits - 1' })
      .where('bucket_key IN (:...keys) AND hits > 0', { keys })
      .updateEntity(false)
      .execute();
  }

  /** One atomic UPSERT; returns the count after it. */
  private async increment(key: string, windowEndsAt: number): Promise<number> {
    if (this.mysql) {
      // LAST_INSERT_ID(expr) hands the new count back in the statement's own OK packet.
      const result: { insertId: number } = await this.counters.query(
        'INSERT INTO device_auth_rate_limits (bucket_key, hits, window_ends_at) VALUES (?, LAST_INSERT_ID(1), ?) ' +
          'ON DUPLICATE KEY UPDATE hits = LAST_INSERT_ID(hits + 1)',
        [key, windowEndsAt],
      );
      return Number(result.insertId);
    }
    const rows: { hits: number }[] = await this.counters.query(
      'INSERT INTO device_auth_rate_limits (bucket_key, hits, window_ends_at) VALUES (?, 1, ?) ' +
        'ON CONFLICT (bucket_key) DO UPDATE SET hits = hits + 1 RETURNING hits',
      [key, windowEndsAt],
    );
    return rows[0].hits;
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
