import { MigrationInterface, QueryRunner } from 'typeorm';
import { isMysqlFamily } from '../store/db-errors';

/** `device_auth_clients`, for hosts that register clients at run time. */
export class CreateDeviceAuthClients1764800000000 implements MigrationInterface {
  name = 'CreateDeviceAuthClients1764800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(isMysqlFamily(queryRunner.connection.options.type) ? MYSQL_UP : SQLITE_UP);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE device_auth_clients');
  }
}

const MYSQL_UP = `CREATE TABLE device_auth_clients (
  client_id VARCHAR(128) NOT NULL,
  name VARCHAR(191) NOT NULL,
  scopes VARCHAR(1024) NOT NULL,
  default_scopes VARCHAR(1024) NOT NULL,
  secret_hash CHAR(64) NULL,
  refresh_tokens TINYINT(1) NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (client_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`;

const SQLITE_UP = `CREATE TABLE device_auth_clients (
  client_id VARCHAR(128) NOT NULL PRIMARY KEY,
  name VARCHAR(191) NOT NULL,
  scopes VARCHAR(1024) NOT NULL,
  default_scopes VARCHAR(1024) NOT NULL,
  secret_hash CHAR(64) NULL,
  refresh_tokens BOOLEAN NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL
)`;
