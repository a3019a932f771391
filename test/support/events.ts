import { LoggerService } from '@nestjs/common';
import { DeviceAuthEventMap, DeviceAuthEventName, DeviceAuthEvents } from '../../src';

/** Every event name of `DeviceAuthEventMap`; the `satisfies` check fails the build when one is missing. */
const ALL: Record<DeviceAuthEventName, true> = {
  'device_code.created': true,
  'device_code.approved': true,
  'device_code.denied': true,
  'device_code.redeemed': true,
  'device_code.expired_poll': true,
  'verification.failed': true,
  rate_limited: true,
  'refresh_token.rotated': true,
  'refresh_token.reused': true,
  'refresh_token.revoked': true,
} satisfies Record<keyof DeviceAuthEventMap, true>;

export const EVENT_NAMES = Object.keys(ALL) as DeviceAuthEventName[];

export type RecordedEvent = { [K in DeviceAuthEventName]: [K, DeviceAuthEventMap[K]] }[DeviceAuthEventName];

/** Subscribes to every event and keeps them in order; `stop()` unsubscribes. */
export class EventRecorder {
  readonly events: RecordedEvent[] = [];
  private readonly offs: (() => void)[];

  constructor(events: DeviceAuthEvents) {
    this.offs = EVENT_NAMES.map((name) => events.on(name, (payload) => void this.events.push([name, payload] as RecordedEvent)));
  }

  clear(): void {
    this.events.length = 0;
  }

  stop(): void {
    for (const off of this.offs) off();
  }
}

/** A Nest logger that keeps what it is told, by level. */
export class CapturingLogger implements LoggerService {
  readonly lines: { level: string; message: string; context?: string }[] = [];
  log(message: unknown, context?: string): void {
    this.lines.push({ level: 'log', message: String(message), context });
  }
  warn(message: unknown, context?: string): void {
    this.lines.push({ level: 'warn', message: String(message), context });
  }
  error(message: unknown, _trace?: string, context?: string): void {
    this.lines.push({ level: 'error', message: String(message), context });
  }
  debug(): void {}
  verbose(): void {}
}
