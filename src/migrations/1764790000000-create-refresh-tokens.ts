import { MigrationInterface, QueryRunner } from 'typeorm';
import { isMysqlFamily } from '../store/db-errors';

/** `refresh_tokens`: hashed, grouped in families for reuse detection. */
export class CreateRefreshTokens1764790000000 implements MigrationInterface {
  name = 'CreateRefreshTokens1764790000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const statements = isMysqlFamily(queryRunner.connection.options.type) ? MYSQL_UP : SQLITE_UP;
    for (const sql of statements) await queryRunner.query(sql);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE refresh_tokens');
  }
}

const MYSQL_UP = [
  `CREATE TABLE refresh_tokens (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
    token_hash CHAR(64) NOT NULL,
    family_id CHAR(32) NOT NULL,
    client_id VARCHAR(128) NOT NULL,
    user_id VARCHAR(191) NOT NULL,
    scope VARCHAR(1024) NOT NULL,
    status VARCHAR(16) NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT NULL,
    PRIMARY KEY (id),
    UNIQUE KEY uq_refresh_tokens_token_hash (token_hash),
    KEY idx_refresh_tokens_family_id (family_id),
    KEY idx_refresh_tokens_expires_at (expires_at)
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
];

const SQLITE_UP = [
  `CREATE TABLE refresh_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash CHAR(64) NOT NULL,
    family_id CHAR(32) NOT NULL,
    client_id VARCHAR(128) NOT NULL,
    user_id VARCHAR(191) NOT NULL,
    scope VARCHAR(1024) NOT NULL,
    status VARCHAR(16) NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT NULL
  )`,
  'CREATE UNIQUE INDEX uq_refresh_tokens_token_hash ON refresh_tokens (token_hash)',
  'CREATE INDEX idx_refresh_tokens_family_id ON refresh_tokens (family_id)',
  'CREATE INDEX idx_refresh_tokens_expires_at ON refresh_tokens (expires_at)',
];
