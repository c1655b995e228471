-- Second factors: an authenticator app (TOTP), recovery codes and passkeys per account, the
-- short-lived tokens between the password step and the second step of an API sign-in, and
-- the log of second-factor resets whose sealed payload lets a reset be rolled back.
-- No column holds a secret in clear: authenticator secrets and reset payloads are sealed with
-- AES-256-GCM under keys that live outside the database (the row names its key id); recovery
-- codes and tokens are stored as SHA-256 hashes of 80+ random bits.

-- One row per account that has, or is enrolling, an authenticator app, or that owes one.
CREATE TABLE second_factors (
    employee_ref BIGINT NOT NULL PRIMARY KEY,
    -- The confirmed authenticator secret (sealed, base64url), its key and the last time step
    -- accepted: a code for that step or an earlier one is refused (replay).
    totp_sealed VARCHAR(255) NULL,
    totp_key_id CHAR(16) NULL,
    totp_last_step BIGINT NOT NULL DEFAULT 0,
    totp_confirmed_at DATETIME(6) NULL,
    -- A secret offered for enrolment; it counts only once one code for it has been accepted,
    -- and only by the session it was offered to (`pending_owner`: a portal session reference
    -- or an API refresh family), so another session holding the password cannot read it.
    pending_sealed VARCHAR(255) NULL,
    pending_key_id CHAR(16) NULL,
    pending_created_at DATETIME(6) NULL,
    pending_owner VARCHAR(64) NULL,
    -- Wrong second-step codes, counted apart from wrong passwords.
    failed_count INT NOT NULL DEFAULT 0,
    locked_until DATETIME(6) NULL,
    -- Set by a reset: the account enrols again at its next sign-in, admin or not.
    must_enrol BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at DATETIME(6) NOT NULL,
    CONSTRAINT fk_second_factors_employee FOREIGN KEY (employee_ref) REFERENCES employees (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE recovery_codes (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    employee_ref BIGINT NOT NULL,
    code_hash BINARY(32) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    used_at DATETIME(6) NULL,
    UNIQUE KEY uq_recovery_codes (employee_ref, code_hash),
    CONSTRAINT fk_recovery_codes_employee FOREIGN KEY (employee_ref) REFERENCES employees (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- WebAuthn credentials: public keys and signature counters, nothing secret.
CREATE TABLE passkeys (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    employee_ref BIGINT NOT NULL,
    credential_id_hash BINARY(32) NOT NULL,
    label VARCHAR(100) NOT NULL,
    credential TEXT NOT NULL,
    created_at DATETIME(6) NOT NULL,
    last_used_at DATETIME(6) NULL,
    UNIQUE KEY uq_passkeys_credential (credential_id_hash),
    KEY ix_passkeys_employee (employee_ref),
    CONSTRAINT fk_passkeys_employee FOREIGN KEY (employee_ref) REFERENCES employees (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Between a right password and the second step of an API sign-in: single use, minutes long.
CREATE TABLE mfa_tokens (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    token_hash BINARY(32) NOT NULL,
    employee_ref BIGINT NOT NULL,
    device_label VARCHAR(100) NULL,
    created_at DATETIME(6) NOT NULL,
    expires_at DATETIME(6) NOT NULL,
    used_at DATETIME(6) NULL,
    UNIQUE KEY uq_mfa_tokens_hash (token_hash),
    KEY ix_mfa_tokens_expires (expires_at),
    CONSTRAINT fk_mfa_tokens_employee FOREIGN KEY (employee_ref) REFERENCES employees (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per second-factor reset. The previous credentials are sealed under the reset-log
-- key named by key_id; the payload is erased when the rollback window closes (the row stays).
CREATE TABLE mfa_resets (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    target_ref BIGINT NOT NULL,
    target_code VARCHAR(32) NOT NULL,
    actor_ref BIGINT NULL,
    actor_label VARCHAR(32) NOT NULL,
    reason VARCHAR(1000) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    key_id CHAR(16) NULL,
    sealed_payload MEDIUMTEXT NULL,
    erased_at DATETIME(6) NULL,
    rolled_back_at DATETIME(6) NULL,
    rolled_back_by_ref BIGINT NULL,
    rolled_back_by_label VARCHAR(32) NULL,
    rollback_reason VARCHAR(1000) NULL,
    KEY ix_mfa_resets_created (created_at),
    KEY ix_mfa_resets_target (target_ref, created_at),
    KEY ix_mfa_resets_key (key_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Which factors a session was opened with (RFC 8176 names, comma separated): a refreshed
-- access token keeps them.
ALTER TABLE refresh_tokens ADD COLUMN amr VARCHAR(32) NOT NULL DEFAULT 'pwd';
