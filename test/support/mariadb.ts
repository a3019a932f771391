import { createConnection } from 'mysql2/promise';

/** Server-level URL of the MariaDB that tests use (no database in the path). */
export const MARIADB_SERVER_URL = process.env.TEST_MARIADB_URL ?? 'mysql://root@127.0.0.1:3306';

export async function mariadbQuery(sql: string, url = MARIADB_SERVER_URL): Promise<void> {
  const connection = await createConnection({ uri: url, connectTimeout: 3000 });
  try {
    await connection.query(sql);
  } finally {
    await connection.end();
  }
}
