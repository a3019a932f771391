import { createHmac } from 'node:crypto';
import { constantTimeEqual } from '../codes/device-code';
import { DeviceAuthUser } from '../users/user-resolver.interface';

/**
 * Synchroniser tokens without server state: the token is an HMAC of the sign-in session, so it
 * is the same on every instance, worthless to another session, and void once the person signs out.
 */
export function csrfTokenFor(secret: string, user: DeviceAuthUser): string {
  return createHmac('sha256', secret).update(`device-auth csrf\n${user.sessionId ?? user.id}`).digest('base64url');
}

export function isValidCsrfToken(secret: string, user: DeviceAuthUser, token: string | undefined): boolean {
  return token !== undefined && constantTimeEqual(token, csrfTokenFor(secret, user));
}
