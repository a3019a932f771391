import { mariadbQuery } from './mariadb';

export default async function globalTeardown(): Promise<void> {
  const database = process.env.TEST_DATABASE_NAME;
  if (database) await mariadbQuery(`DROP DATABASE IF EXISTS \`${database}\``);
}
