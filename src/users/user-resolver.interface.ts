/** The person signed in on the verification page, as the host knows them. */
export interface DeviceAuthUser {
  /** Becomes the token's `sub`. */
  id: string;
  /** Shown on the pages ("Signed in as ..."); defaults to the id. */
  displayName?: string;
  /**
   * Identifies the sign-in session; CSRF tokens are bound to it, so signing out and in again
   * invalidates old forms. Defaults to the id.
   */
  sessionId?: string;
}

/** The raw request of the HTTP adapter in use (Express or Fastify); both expose `headers`. */
export interface DeviceAuthRequest {
  headers: Record<string, string | string[] | undefined>;
  // `any`, not `unknown`: hosts read what their own middleware added (`req.session`, `req.user`)
  // without casting, whatever adapter and session library they use.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [key: string]: any;
}

export interface UserResolver {
  resolveUser(request: DeviceAuthRequest): DeviceAuthUser | null | Promise<DeviceAuthUser | null>;
  /** URL of the host's sign-in, which must send the person back to `returnTo` (a local path). */
  signInUrl(returnTo: string): string;
}

/** Injection token for the `UserResolver` in use. */
export const UserResolver = Symbol('UserResolver');
