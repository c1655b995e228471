ALTER TABLE employees DROP KEY ix_employees_last_login;

ALTER TABLE portal_sessions
    DROP KEY ix_portal_sessions_ref,
    DROP COLUMN session_ref;
