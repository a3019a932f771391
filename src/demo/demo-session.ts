import { createHmac, randomBytes } from 'node:crypto';
import { constantTimeEqual } from '../codes/device-code';
import type { DeviceAuthRequest, DeviceAuthUser } from '../users/user-resolver.interface';

export const SESSION_COOKIE = 'nda_session';
const SESSION_TTL_MS = 8 * 60 * 60 * 1000;

interface SessionPayload {
  u: string;
  s: string;
  e: number;
}

/**
 * The demo's sign-in session: a signed cookie (no server state, so any instance can read it).
 * Without server state, signing out only clears the cookie in that browser: a copy of the cookie
 * keeps working until it expires (8 hours), unless the user is removed from DEMO_USERS or the
 * session secret changes. A real host brings its own session; the module only needs `resolveUser`.
 */
export class DemoSessions {
  constructor(
    private readonly secret: string,
    private readonly secure: boolean,
  ) {}

  /** The Set-Cookie value for a fresh session of `userId`. */
  issue(userId: string, now = Date.now()): string {
    const payload: SessionPayload = { u: userId, s: randomBytes(16).toString('base64url'), e: now + SESSION_TTL_MS };
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return this.cookie(`${body}.${this.sign(body)}`, SESSION_TTL_MS / 1000);
  }

  clear(): string {
    return this.cookie('', 0);
  }

  resolve(request: DeviceAuthRequest, now = Date.now()): DeviceAuthUser | null {
    const value = readCookie(request.headers.cookie, SESSION_COOKIE);
    const dot = value?.lastIndexOf('.') ?? -1;
    if (!value || dot < 1) return null;
    const body = value.slice(0, dot);
    if (!constantTimeEqual(value.slice(dot + 1), this.sign(body))) return null;
    try {
      const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as SessionPayload;
      if (typeof payload.u !== 'string' || typeof payload.s !== 'string' || !(payload.e > now)) return null;
      return { id: payload.u, displayName: payload.u, sessionId: payload.s };
    } catch {
      return null;
    }
  }

  private sign(body: string): string {
    return createHmac('sha256', this.secret).update(`demo session\n${body}`).digest('base64url');
  }

  private cookie(value: string, maxAgeSeconds: number): string {
    return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAgeSeconds}${this.secure ? '; Secure' : ''}`;
  }
}

function readCookie(header: string | string[] | undefined, name: string): string | undefined {
  const text = Array.isArray(header) ? header.join('; ') : header;
  for (const part of text?.split(';') ?? []) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
