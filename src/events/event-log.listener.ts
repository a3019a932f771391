import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DeviceAuthEvents } from './device-auth.events';

/** The module's own log of the flow, written from the events: client and user ids only. */
@Injectable()
export class EventLogListener implements OnModuleInit {
  private readonly logger = new Logger('DeviceAuth');

  constructor(private readonly events: DeviceAuthEvents) {}

  onModuleInit(): void {
    const { events, logger } = this;
    events.on('device_code.created', (e) => logger.log(`device code created: client=${e.clientId} scope="${e.scope}"`));
    events.on('device_code.approved', (e) => logger.log(`device code approved: client=${e.clientId} user=${e.userId}`));
    events.on('device_code.denied', (e) => logger.log(`device code denied: client=${e.clientId} user=${e.userId}`));
    events.on('device_code.redeemed', (e) => logger.log(`device code redeemed: client=${e.clientId} user=${e.userId}`));
    events.on('rate_limited', (e) =>
      logger.warn(e.limit === 'device_authorization' ? `device authorization limited: client=${e.clientId}` : `verification limited: user=${e.userId}`),
    );
    events.on('refresh_token.rotated', (e) => logger.log(`refresh token rotated: client=${e.clientId} user=${e.userId}`));
    events.on('refresh_token.reused', (e) => logger.warn(`refresh token reused; family revoked: client=${e.clientId} user=${e.userId}`));
    events.on('refresh_token.revoked', (e) => logger.log(`refresh token revoked: client=${e.clientId} user=${e.userId}`));
  }
}
