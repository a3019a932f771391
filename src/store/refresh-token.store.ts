import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import { LessThanOrEqual, Repository } from 'typeorm';
import { sha256Hex } from '../codes/device-code';
import { DEVICE_AUTH_CONFIG } from '../device-auth.constants';
import type { DeviceAuthConfig } from '../device-auth.options';
import { RefreshToken } from '../entities/refresh-token.entity';
import { deleteInBatches } from './batched-delete';
import { DeviceAuthEvents } from '../events/device-auth.events';
import type { TokenGrant } from '../token/token-issuer.interface';
import { parseScope } from '../clients/scopes';

/** What presenting a refresh token found. */
export type RefreshResult =
  | { outcome: 'valid'; token: RefreshToken; scope: string }
  | { outcome: 'invalid_scope'; scope: string }
  | { outcome: 'invalid_grant'; reason: 'unknown' | 'expired' | 'revoked' | 'reused' };


/**
 * Opaque refresh tokens, stored as SHA-256 only. Use rotates: the presented token is marked used
 * by one conditional UPDATE and a new one joins its family. A used token presented again (a
 * copy in an attacker's hands, or the victim after the attacker) revokes the whole family.
 */
@Injectable()
export class RefreshTokenStore {

  constructor(
    @InjectRepository(RefreshToken) private readonly tokens: Repository<RefreshToken>,
    @Inject(DEVICE_AUTH_CONFIG) private readonly config: DeviceAuthConfig,
    private readonly events: DeviceAuthEvents,
  ) {}

  /** Starts a family (a fresh approval) or continues one (a rotation); returns the plain token. */
  async issue(grant: TokenGrant, familyId?: string): Promise<string> {
    const token = await this.insert(grant, familyId ?? randomBytes(16).toString('hex'));
    // A rotation racing a reuse: if the family was revoked while this token was being added,
    // the revocation may have missed it, so it is revoked here. Whichever runs last catches it.
    if (familyId !== undefined && (await this.tokens.existsBy({ familyId, status: 'revoked' }))) await this.revokeFamily(familyId);
    return token;
  }

  private async insert(grant: TokenGrant, familyId: string): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    const now = this.config.clock.now();
    await this.tokens
      .createQueryBuilder()
      .insert()
      .into(RefreshToken)
      .values({
        tokenHash: sha256Hex(token),
        familyId,
        clientId: grant.clientId,
        userId: grant.userId,
        scope: grant.scope,
        status: 'active',
        expiresAt: now + this.config.refreshTokenTtlSeconds * 1000,
        createdAt: now,
        usedAt: null,
      })
      .updateEntity(false)
      .execute();
    return token;
  }

  /** The active token of this client, without using it (introspection, revocation). */
  async find(token: string, clientId?: string): Promise<RefreshToken | null> {
    const row = await this.tokens.findOneBy({ tokenHash: sha256Hex(token) });
    return row && (clientId === undefined || row.clientId === clientId) ? row : null;
  }

  /**
   * Checks a presented token without using it up. A token already used comes back: a copy is
   * in someone else's hands, so its family is revoked. `requestedScope` may narrow the grant for
   * the new access token, never widen it; a wider request changes nothing.
   */
  async check(token: string, clientId: string, requestedScope?: string): Promise<RefreshResult> {
    const row = await this.find(token, clientId);
    if (!row) return { outcome: 'invalid_grant', reason: 'unknown' };
    if (row.status === 'revoked') return { outcome: 'invalid_grant', reason: 'revoked' };
    if (row.status === 'used') {
      await this.reused(row);
      return { outcome: 'invalid_grant', reason: 'reused' };
    }
    if (row.isExpired(this.config.clock.now())) return { outcome: 'invalid_grant', reason: 'expired' };
    const granted = parseScope(row.scope);
    const wanted = requestedScope === undefined ? granted : parseScope(requestedScope);
    const extra = wanted.find((scope) => !granted.includes(scope));
    if (extra !== undefined) return { outcome: 'invalid_scope', scope: extra };
    return { outcome: 'valid', token: row, scope: (wanted.length ? wanted : granted).join(' ') };
  }

  /**
   * Uses the token up, exactly once: one conditional UPDATE. The loser of a race for it has
   * presented a used token, so the family is revoked, the winner's new token with it.
   */
  async markUsed(row: RefreshToken): Promise<boolean> {
    const result = await this.tokens
      .createQueryBuilder()
      .update(RefreshToken)
      .set({ status: 'used', usedAt: this.config.clock.now() })
      .where("id = :id AND status = 'active'", { id: row.id })
      .updateEntity(false)
      .execute();
    if (result.affected === 1) return true;
    await this.reused(row);
    return false;
  }

  private async reused(row: RefreshToken): Promise<void> {
    await this.revokeFamily(row.familyId);
    this.events.emit('refresh_token.reused', { clientId: row.clientId, userId: row.userId });
  }

  /** Revokes every token of the family still usable; returns how many that was. */
  async revokeFamily(familyId: string): Promise<number> {
    const result = await this.tokens
      .createQueryBuilder()
      .update(RefreshToken)
      .set({ status: 'revoked' })
      .where("family_id = :familyId AND status <> 'revoked'", { familyId })
      .updateEntity(false)
      .execute();
    return result.affected ?? 0;
  }

  /** Deletes one token outright, for a token that was stored but never handed out. */
  async delete(token: string): Promise<void> {
    await this.tokens.delete({ tokenHash: sha256Hex(token) });
  }

  /** Deletes expired tokens in bounded batches; their families can no longer be used anyway. */
  async purgeExpired(): Promise<number> {
    return deleteInBatches(this.tokens, 'id', { expiresAt: LessThanOrEqual(this.config.clock.now()) }, this.config.purgeBatchSize);
  }
}
