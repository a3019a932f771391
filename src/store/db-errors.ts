import { QueryFailedError } from 'typeorm';

/** A duplicate key on a unique index, on MySQL/MariaDB (1062) or SQLite. */
export function isUniqueViolation(error: unknown): boolean {
  const driverError = error instanceof QueryFailedError ? (error.driverError as { code?: string; errno?: number }) : undefined;
  return driverError?.code === 'ER_DUP_ENTRY' || driverError?.errno === 1062 || driverError?.code === 'SQLITE_CONSTRAINT_UNIQUE' || driverError?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

export function isMysqlFamily(type: string): boolean {
  return type === 'mysql' || type === 'mariadb';
}

/** The code of the error a query gets when it outlives its deadline (see `queryDeadline`). */
export const QUERY_DEADLINE_CODE = 'QUERY_DEADLINE_EXCEEDED';

/** Node and mysql2 codes of a database that cannot be reached or stopped answering. */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  QUERY_DEADLINE_CODE,
]);

/**
 * Server errors that mean "not now" rather than "wrong request": too many connections (1040),
 * shutting down (1053), lock wait timeout (1205), query interrupted (1317), connection killed
 * (MariaDB 1927), idle connection closed by the server (MySQL 4031).
 */
const UNAVAILABLE_ERRNOS = new Set([1040, 1053, 1205, 1317, 1927, 4031]);

/** mysql2's pool has no codes for these: it gives up waiting for, or can no longer make, a connection. */
const POOL_MESSAGES = new Set(['Queue limit reached.', 'No connections available.', 'Pool is closed.']);

/**
 * True when an error means the database is unavailable for now (so the answer is 503 with
 * Retry-After, not 500): refused, lost, reset or timed-out connections, a query past its
 * deadline, a pool that cannot hand out a connection, a server shutting down or overloaded, and
 * SQLite busy or locked beyond its busy timeout. TypeORM wraps query errors in
 * `QueryFailedError` (the driver's error is `driverError`) but passes connection errors through
 * as they are, so both are looked at.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const candidate = driverErrorOf(error);
  if (typeof candidate !== 'object' || candidate === null) return false;
  const { code, errno, fatal, message } = candidate as { code?: unknown; errno?: unknown; fatal?: unknown; message?: unknown };
  if (typeof code === 'string' && (UNREACHABLE_CODES.has(code) || /^SQLITE_(BUSY|LOCKED)/.test(code))) return true;
  if (typeof errno === 'number' && UNAVAILABLE_ERRNOS.has(errno)) return true;
  // mysql2 marks an error fatal when it broke the connection itself (whatever its code).
  if (fatal === true) return true;
  return typeof message === 'string' && POOL_MESSAGES.has(message);
}

/** What a log may say about a database error: its class and code, never its message or parameters. */
export function databaseErrorSummary(error: unknown): string {
  const driverError = driverErrorOf(error) as { code?: unknown; errno?: unknown } | null | undefined;
  const name = error instanceof Error ? error.name : typeof error;
  const code = typeof driverError?.code === 'string' ? driverError.code : typeof driverError?.errno === 'number' ? `errno ${driverError.errno}` : undefined;
  return code === undefined ? name : `${name} (${code})`;
}

function driverErrorOf(error: unknown): unknown {
  return error instanceof QueryFailedError ? error.driverError : error;
}
