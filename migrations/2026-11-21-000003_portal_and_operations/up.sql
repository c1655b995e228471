CREATE TABLE portal_sessions (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    session_key_hash BINARY(32) NOT NULL,
    state TEXT NOT NULL,
    employee_ref BIGINT NULL,
    client_ip VARCHAR(45) NULL,
    user_agent VARCHAR(255) NULL,
    created_at DATETIME(6) NOT NULL,
    last_seen_at DATETIME(6) NOT NULL,
    expires_at DATETIME(6) NOT NULL,
    UNIQUE KEY uq_portal_sessions_key (session_key_hash),
    KEY ix_portal_sessions_employee (employee_ref),
    KEY ix_portal_sessions_expires (expires_at),
    CONSTRAINT fk_portal_sessions_employee FOREIGN KEY (employee_ref) REFERENCES employees (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE settings (
    name VARCHAR(64) NOT NULL PRIMARY KEY,
    value VARCHAR(255) NOT NULL,
    updated_by BIGINT NULL,
    updated_at DATETIME(6) NOT NULL,
    CONSTRAINT fk_settings_updated_by FOREIGN KEY (updated_by) REFERENCES employees (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE admin_audit (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    action VARCHAR(64) NOT NULL,
    actor_ref BIGINT NULL,
    actor_label VARCHAR(100) NULL,
    client_ip VARCHAR(45) NULL,
    detail TEXT NULL,
    created_at DATETIME(6) NOT NULL,
    KEY ix_admin_audit_created (created_at),
    KEY ix_admin_audit_action (action, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE sheet_prints (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    serial VARCHAR(32) NOT NULL,
    employee_ref BIGINT NOT NULL,
    token_ref BIGINT NULL,
    printed_by BIGINT NULL,
    printed_at DATETIME(6) NOT NULL,
    reprint_number INT NOT NULL DEFAULT 0,
    UNIQUE KEY uq_sheet_prints_serial (serial),
    KEY ix_sheet_prints_employee (employee_ref, printed_at),
    CONSTRAINT fk_sheet_prints_employee FOREIGN KEY (employee_ref) REFERENCES employees (id) ON DELETE CASCADE,
    CONSTRAINT fk_sheet_prints_token FOREIGN KEY (token_ref) REFERENCES onetime_tokens (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE mail_outbox (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    recipient VARCHAR(254) NOT NULL,
    template VARCHAR(64) NOT NULL,
    payload TEXT NOT NULL,
    attempts INT NOT NULL DEFAULT 0,
    next_attempt_at DATETIME(6) NOT NULL,
    sent_at DATETIME(6) NULL,
    last_error VARCHAR(500) NULL,
    created_at DATETIME(6) NOT NULL,
    KEY ix_mail_outbox_pending (sent_at, next_attempt_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
