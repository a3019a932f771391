import { createHmac } from 'node:crypto';
import { constantTimeEqual } from '../codes/device-code';
import { DeviceAuthUser } from '../users/user-resolver.interface';

/**
 * Synchroniser tokens without server state: the token is an HMAC of the sign-in session's id, so
 * it is the same on every instance, worthless to another session, and lives exactly as long as
 * that session id does. It dies with the session only where signing out ends the session on the
 * server; the demo's stateless cookie session does not end that way (see DemoSessions).
 */
export function csrfTokenFor(secret: string, user: DeviceAuthUser): string {
  return createHmac('sha256', secret).update(`device-auth csrf\n${user.sessionId ?? user.id}`).digest('base64url');
}

export function isValidCsrfToken(secret: string, user: DeviceAuthUser, token: string | undefined): boolean {
  return token !== undefined && constantTimeEqual(token, csrfTokenFor(secret, user));
}
