-- One row per executed archive run of login_history (dry runs write nothing). A run updates
-- its row in the same transaction as each batch it moves, so the row always says how far
-- the run got, even after a crash. The scheduler looks here for this month's run.
CREATE TABLE history_archive_runs (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    trigger_kind VARCHAR(16) NOT NULL,
    actor_ref BIGINT NULL,
    actor_label VARCHAR(100) NOT NULL,
    cutoff DATETIME(6) NOT NULL,
    status VARCHAR(16) NOT NULL,
    rows_archived BIGINT NOT NULL DEFAULT 0,
    rows_already_archived BIGINT NOT NULL DEFAULT 0,
    batches INT NOT NULL DEFAULT 0,
    started_at DATETIME(6) NOT NULL,
    finished_at DATETIME(6) NULL,
    duration_ms BIGINT NULL,
    error VARCHAR(500) NULL,
    KEY ix_history_archive_runs_started (started_at),
    KEY ix_history_archive_runs_trigger (trigger_kind, status, started_at),
    CONSTRAINT ck_history_archive_runs_trigger CHECK (trigger_kind IN ('schedule', 'cli', 'portal')),
    CONSTRAINT ck_history_archive_runs_status CHECK (status IN ('running', 'done', 'stopped', 'failed', 'interrupted'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The archive is browsed with the same filters as the live history.
ALTER TABLE login_history_archive
    ADD KEY ix_login_history_archive_event (event, created_at);
