import { Inject, Injectable } from '@nestjs/common';
import { ClientRegistry, DeviceClient } from '../clients/client.interface';
import { DEVICE_AUTH_CONFIG } from '../device-auth.constants';
import type { DeviceAuthConfig } from '../device-auth.options';
import { DeviceCode } from '../entities/device-code.entity';
import { RateLimit, RateLimiter } from '../limits/rate-limiter.service';
import { DeviceAuthEvents } from '../events/device-auth.events';
import { DeviceCodeStore } from '../store/device-code.store';
import { DeviceAuthRequest, DeviceAuthUser, UserResolver } from '../users/user-resolver.interface';
import { csrfTokenFor, isValidCsrfToken } from './csrf';
import { VerificationError } from './verification.error';

export type Decision = 'approve' | 'deny';

/**
 * The verification page's rules, independent of HTML: who is signed in, CSRF, the guessing
 * limit (per user and per IP, checked before every lookup so a lockout refuses even a correct
 * code), and the final, single decision on a code.
 */
@Injectable()
export class VerificationService {
  private readonly failureLimit: RateLimit;

  constructor(
    private readonly store: DeviceCodeStore,
    private readonly limiter: RateLimiter,
    private readonly events: DeviceAuthEvents,
    @Inject(ClientRegistry) private readonly clients: ClientRegistry,
    @Inject(UserResolver) private readonly users: UserResolver,
    @Inject(DEVICE_AUTH_CONFIG) private readonly config: DeviceAuthConfig,
  ) {
    this.failureLimit = {
      name: 'verification_failure',
      limit: config.verificationFailureLimit,
      windowSeconds: config.verificationFailureWindowSeconds,
    };
  }

  resolveUser(request: DeviceAuthRequest): Promise<DeviceAuthUser | null> {
    return Promise.resolve(this.users.resolveUser(request));
  }

  /** Decisions need a session: an anonymous request is refused (401) and changes nothing. */
  async requireUser(request: DeviceAuthRequest): Promise<DeviceAuthUser> {
    const user = await this.resolveUser(request);
    if (!user) throw new VerificationError(401, 'login_required', 'Please sign in', 'Sign in first, then enter the code from your device again.');
    return user;
  }

  signInUrl(returnTo: string): string {
    return this.users.signInUrl(returnTo);
  }

  csrfToken(user: DeviceAuthUser): string {
    return csrfTokenFor(this.config.csrfSecret, user);
  }

  assertCsrf(user: DeviceAuthUser, token: string | undefined): void {
    if (!isValidCsrfToken(this.config.csrfSecret, user, token)) {
      throw new VerificationError(403, 'invalid_csrf_token', 'This form has expired', 'The page was open too long or came from somewhere else. Go back, reload it and try again.');
    }
  }

  /** The pending code and its client, for the confirmation page; a VerificationError says why not. */
  async lookUp(user: DeviceAuthUser, ip: string, userCodeInput: string): Promise<{ code: DeviceCode; client: DeviceClient }> {
    const code = await this.guarded(user, ip, () => this.store.findByUserCode(userCodeInput));
    this.assertUndecided(code);
    const client = await this.clients.findClient(code.clientId);
    if (!client) throw new VerificationError(410, 'invalid_client', 'This device is no longer allowed', 'The application that asked for this code has been removed.');
    return { code, client };
  }

  /** Records approve or deny; exactly one decision can ever win for a code. */
  async decide(decision: Decision, user: DeviceAuthUser, ip: string, userCodeInput: string): Promise<{ clientId: string; clientName: string }> {
    // The same checks as the confirmation page (limit, state, the client still registered) ...
    const { code, client } = await this.lookUp(user, ip, userCodeInput);
    // ... and the user still allowed (validateUser, as when tokens are issued): a disabled user
    // can neither connect a device nor deny someone else's code ...
    if (!(await this.config.validateUser(user.id))) {
      throw new VerificationError(403, 'access_denied', 'Your account cannot connect devices', 'This account is no longer allowed to approve or deny sign-ins. Nothing was changed.');
    }
    // ... then the one conditional UPDATE that decides; a concurrent decision may have won since.
    const won =
      decision === 'approve'
        ? await this.store.authorizeDeviceCode(userCodeInput, user.id)
        : await this.store.denyDeviceCode(userCodeInput, user.id);
    if (!won) {
      const current = await this.store.findByUserCode(userCodeInput);
      if (current) this.assertUndecided(current);
      throw new VerificationError(409, 'code_already_used', 'This code was already used', 'Someone decided on this code a moment ago. Start again on your device.');
    }
    this.events.emit(decision === 'approve' ? 'device_code.approved' : 'device_code.denied', { clientId: code.clientId, userId: user.id });
    return { clientId: client.clientId, clientName: client.name };
  }

  private assertUndecided(code: DeviceCode): void {
    const now = this.config.clock.now();
    if (code.isExpired(now)) {
      throw new VerificationError(410, 'expired_token', 'This code has expired', 'Codes last a few minutes. Start the sign-in again on your device to get a new one.');
    }
    if (code.status !== 'pending') {
      throw new VerificationError(409, 'code_already_used', 'This code was already used', `This request was already ${code.status === 'denied' ? 'denied' : 'approved'}. Start again on your device if you need to.`);
    }
  }

  /**
   * Every code entry first reserves an attempt against the user and the IP (one atomic
   * increment each), so a burst of parallel guesses cannot slip past the limit between a check
   * and a count. An entry that finds a real code gets its attempt back; a wrong one keeps it.
   * During a lockout even a correct code is refused, and success never resets the count.
   */
  private async guarded(user: DeviceAuthUser, ip: string, find: () => Promise<DeviceCode | null>): Promise<DeviceCode> {
    const subjects = this.subjects(user, ip);
    const verdict = await this.limiter.hit(this.failureLimit, subjects);
    if (!verdict.allowed) throw this.lockedOut(user, ip, verdict.retryAfterSeconds);
    const code = await find();
    if (!code) {
      this.events.emit('verification.failed', { userId: user.id, ip });
      throw new VerificationError(404, 'invalid_user_code', 'That code is not right', 'Check the code on your device and enter it again.');
    }
    await this.limiter.refund(this.failureLimit, subjects);
    return code;
  }

  private lockedOut(user: DeviceAuthUser, ip: string, retryAfterSeconds: number): VerificationError {
    this.events.emit('rate_limited', { limit: 'verification', userId: user.id, ip });
    const minutes = Math.ceil(retryAfterSeconds / 60);
    return new VerificationError(
      429,
      'temporarily_unavailable',
      'Too many wrong codes',
      `For your safety, code entry is paused. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
      { 'Retry-After': String(retryAfterSeconds) },
    );
  }

  private subjects(user: DeviceAuthUser, ip: string): string[] {
    return [`user:${user.id}`, `ip:${ip}`];
  }
}
