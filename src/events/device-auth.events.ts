import { Injectable, Logger } from '@nestjs/common';
import { describe } from '../oauth/oauth-exception.filter';

/**
 * Every event the module emits, and what it carries: ids, never a device code, user code,
 * token, secret or password. Each is emitted after its database write has committed.
 */
export interface DeviceAuthEventMap {
  'device_code.created': { clientId: string; scope: string; ip: string };
  'device_code.approved': { clientId: string; userId: string };
  'device_code.denied': { clientId: string; userId: string };
  'device_code.redeemed': { clientId: string; userId: string; scope: string };
  /** A device polled a code past its lifetime (it got `expired_token`). */
  'device_code.expired_poll': { clientId: string };
  /** Someone entered a code that does not exist. */
  'verification.failed': { userId: string; ip: string };
  'rate_limited': { limit: 'device_authorization'; clientId: string; ip: string } | { limit: 'verification'; userId: string; ip: string };
  'refresh_token.rotated': { clientId: string; userId: string };
  /** A used refresh token came back: its family was revoked. */
  'refresh_token.reused': { clientId: string; userId: string };
  'refresh_token.revoked': { clientId: string; userId: string };
}

export type DeviceAuthEventName = keyof DeviceAuthEventMap;
export type DeviceAuthEventListener<K extends DeviceAuthEventName> = (payload: DeviceAuthEventMap[K]) => void | Promise<void>;

/**
 * Subscribe for audit and integration: `events.on('device_code.approved', (e) => ...)`.
 * A listener that throws or rejects is logged and never disturbs the flow.
 */
@Injectable()
export class DeviceAuthEvents {
  private readonly logger = new Logger('DeviceAuth');
  private readonly listeners = new Map<DeviceAuthEventName, Set<DeviceAuthEventListener<never>>>();

  /** Adds a listener; returns a function that removes it. */
  on<K extends DeviceAuthEventName>(name: K, listener: DeviceAuthEventListener<K>): () => void {
    const set = this.listeners.get(name) ?? new Set();
    set.add(listener as DeviceAuthEventListener<never>);
    this.listeners.set(name, set);
    return () => set.delete(listener as DeviceAuthEventListener<never>);
  }

  emit<K extends DeviceAuthEventName>(name: K, payload: DeviceAuthEventMap[K]): void {
    for (const listener of this.listeners.get(name) ?? []) {
      try {
        const result = (listener as DeviceAuthEventListener<K>)(payload);
        if (result instanceof Promise) result.catch((error: unknown) => this.listenerFailed(name, error));
      } catch (error) {
        this.listenerFailed(name, error);
      }
    }
  }

  private listenerFailed(name: DeviceAuthEventName, error: unknown): void {
    this.logger.warn(`a listener of ${name} failed: ${describe(error)}`);
  }
}
