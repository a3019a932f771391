import { MigrationInterface, QueryRunner } from 'typeorm';
import { isMysqlFamily } from '../store/db-errors';

/**
 * `device_codes` and the shared rate-limit counters. Raw SQL per dialect so that the schema
 * (binary collation, BIGINT epoch-millisecond times, index names) is exactly what we reason about.
 */
export class CreateDeviceAuthTables1764780000000 implements MigrationInterface {
  name = 'CreateDeviceAuthTables1764780000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const statements = isMysqlFamily(queryRunner.connection.options.type) ? MYSQL_UP : SQLITE_UP;
    for (const sql of statements) await queryRunner.query(sql);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE device_auth_rate_limits');
    await queryRunner.query('DROP TABLE device_codes');
  }
}

const MYSQL_UP = [
  `CREATE TABLE device_codes (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    device_code_hash CHAR(64) NOT NULL,
    user_code VARCHAR(16) NOT NULL,
    client_id VARCHAR(128) NOT NULL,
    scope VARCHAR(1024) NOT NULL,
    status VARCHAR(16) NOT NULL,
    user_id VARCHAR(191) NULL,
    interval_seconds INT NOT NULL,
    last_polled_at BIGINT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    decided_at BIGINT NULL,
    requester_ip VARCHAR(64) NULL,
    requester_user_agent VARCHAR(512) NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_device_codes_device_code_hash (device_code_hash),
    UNIQUE KEY uq_device_codes_user_code (user_code),
    KEY idx_device_codes_expires_at (expires_at),
    KEY idx_device_codes_decided_at (decided_at)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
  `CREATE TABLE device_auth_rate_limits (
    bucket_key CHAR(64) NOT NULL,
    hits INT NOT NULL,
    window_ends_at BIGINT NOT NULL,
    PRIMARY KEY (bucket_key),
    KEY idx_device_auth_rate_limits_window_ends_at (window_ends_at)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
];

const SQLITE_UP = [
  `CREATE TABLE device_codes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device_code_hash CHAR(64) NOT NULL,
    user_code VARCHAR(16) NOT NULL,
    client_id VARCHAR(128) NOT NULL,
    scope VARCHAR(1024) NOT NULL,
    status VARCHAR(16) NOT NULL,
    user_id VARCHAR(191) NULL,
    interval_seconds INTEGER NOT NULL,
    last_polled_at BIGINT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    decided_at BIGINT NULL,
    requester_ip VARCHAR(64) NULL,
    requester_user_agent VARCHAR(512) NULL
  )`,
  'CREATE UNIQUE INDEX uq_device_codes_device_code_hash ON device_codes (device_code_hash)',
  'CREATE UNIQUE INDEX uq_device_codes_user_code ON device_codes (user_code)',
  'CREATE INDEX idx_device_codes_expires_at ON device_codes (expires_at)',
  'CREATE INDEX idx_device_codes_decided_at ON device_codes (decided_at)',
  `CREATE TABLE device_auth_rate_limits (
    bucket_key CHAR(64) NOT NULL PRIMARY KEY,
    hits INTEGER NOT NULL,
    window_ends_at BIGINT NOT NULL
  )`,
  'CREATE INDEX idx_device_auth_rate_limits_window_ends_at ON device_auth_rate_limits (window_ends_at)',
];
