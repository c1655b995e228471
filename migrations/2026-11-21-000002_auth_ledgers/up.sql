-- Rate-limit ledger: one row per admitted password attempt; success flips to TRUE when the
-- password verified, so successful sign-ins never count against anyone.
CREATE TABLE login_attempts (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    login_key VARCHAR(32) NOT NULL,
    client_ip VARCHAR(45) NOT NULL,
    success BOOLEAN NOT NULL DEFAULT FALSE,
    created_at DATETIME(6) NOT NULL,
    KEY ix_login_attempts_key_ip (login_key, client_ip, created_at),
    KEY ix_login_attempts_ip (client_ip, created_at),
    KEY ix_login_attempts_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE login_history (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    event VARCHAR(32) NOT NULL,
    employee_ref BIGINT NULL,
    employee_code VARCHAR(32) NULL,
    actor_ref BIGINT NULL,
    client_ip VARCHAR(45) NULL,
    user_agent VARCHAR(255) NULL,
    detail TEXT NULL,
    created_at DATETIME(6) NOT NULL,
    KEY ix_login_history_created (created_at),
    KEY ix_login_history_employee (employee_ref, created_at),
    KEY ix_login_history_event (event, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE login_history_archive (
    id BIGINT NOT NULL PRIMARY KEY,
    event VARCHAR(32) NOT NULL,
    employee_ref BIGINT NULL,
    employee_code VARCHAR(32) NULL,
    actor_ref BIGINT NULL,
    client_ip VARCHAR(45) NULL,
    user_agent VARCHAR(255) NULL,
    detail TEXT NULL,
    created_at DATETIME(6) NOT NULL,
    archived_at DATETIME(6) NOT NULL,
    KEY ix_login_history_archive_created (created_at),
    KEY ix_login_history_archive_employee (employee_ref, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE refresh_tokens (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    token_hash BINARY(32) NOT NULL,
    family CHAR(32) NOT NULL,
    employee_ref BIGINT NOT NULL,
    device_label VARCHAR(100) NULL,
    created_at DATETIME(6) NOT NULL,
    last_used_at DATETIME(6) NULL,
    expires_at DATETIME(6) NOT NULL,
    replaced_by BIGINT NULL,
    revoked_at DATETIME(6) NULL,
    UNIQUE KEY uq_refresh_tokens_hash (token_hash),
    KEY ix_refresh_tokens_family (family),
    KEY ix_refresh_tokens_employee (employee_ref, revoked_at),
    CONSTRAINT fk_refresh_tokens_employee FOREIGN KEY (employee_ref) REFERENCES employees (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
