/** Injection tokens; each names the interface it stands for. */
export const DEVICE_AUTH_CONFIG = Symbol('DEVICE_AUTH_CONFIG');
export const CLIENT_REGISTRY = Symbol('ClientRegistry');
export const USER_RESOLVER = Symbol('UserResolver');
export const TOKEN_ISSUER = Symbol('TokenIssuer');
