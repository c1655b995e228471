ALTER TABLE login_history_archive DROP KEY ix_login_history_archive_event;
DROP TABLE history_archive_runs;
