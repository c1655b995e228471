DROP TABLE refresh_tokens;
DROP TABLE login_history_archive;
DROP TABLE login_history;
DROP TABLE login_attempts;
