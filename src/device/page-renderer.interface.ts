import type { DeviceClient } from '../clients/client.interface';
import type { DeviceCode } from '../entities/device-code.entity';
import type { DeviceAuthUser } from '../users/user-resolver.interface';

/** Where the verification pages' stylesheet is served. */
export const STYLESHEET_PATH = '/device/assets/device.css';

export interface EntryPageModel {
  user: DeviceAuthUser;
  csrfToken: string;
  /** What the person typed, to show again. */
  userCode?: string;
  /** Why the last entry failed, shown above the field. */
  problem?: string;
}

export interface ConfirmPageModel {
  user: DeviceAuthUser;
  csrfToken: string;
  code: DeviceCode;
  client: DeviceClient;
  scopeDescriptions: Record<string, string>;
  now: number;
}

export interface ResultPageModel {
  user: DeviceAuthUser;
  clientName: string;
  approved: boolean;
}

export interface ErrorPageModel {
  title: string;
  detail: string;
  user?: DeviceAuthUser;
}

/**
 * The verification pages' HTML. Replace it (module option `pageRenderer`) to change templates
 * or wording; every method returns a whole HTML document, and must escape what it prints.
 * Forms must keep their `action`s and field names (`user_code`, `_csrf`).
 */
export interface PageRenderer {
  entry(model: EntryPageModel): string;
  confirm(model: ConfirmPageModel): string;
  result(model: ResultPageModel): string;
  error(model: ErrorPageModel): string;
  stylesheet(): string;
}

/** Injection token for the `PageRenderer` in use. */
export const PageRenderer = Symbol('PageRenderer');
