import { ValueTransformer } from 'typeorm';

/**
 * BIGINT columns come back from mysql2 as strings (TypeORM turns on bigNumberStrings) and from
 * better-sqlite3 as numbers; the entity always sees a number. Epoch milliseconds and row ids
 * both stay far below 2^53.
 */
export const bigintTransformer: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null) => (value === null || value === undefined ? value : Number(value)),
};
