import { QueryFailedError } from 'typeorm';

/** A duplicate key on a unique index, on MySQL/MariaDB (1062) or SQLite. */
export function isUniqueViolation(error: unknown): boolean {
  const driverError = error instanceof QueryFailedError ? (error.driverError as { code?: string; errno?: number }) : undefined;
  return driverError?.code === 'ER_DUP_ENTRY' || driverError?.errno === 1062 || driverError?.code === 'SQLITE_CONSTRAINT_UNIQUE' || driverError?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

export function isMysqlFamily(type: string): boolean {
  return type === 'mysql' || type === 'mariadb';
}
