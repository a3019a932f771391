/** Injection token of the resolved module configuration (`DeviceAuthConfig`). */
export const DEVICE_AUTH_CONFIG = Symbol('DEVICE_AUTH_CONFIG');
