-- A portal session's public reference (its key is only ever stored hashed), so an admin can
-- see and end their other sessions; and the index behind "never signed in".
ALTER TABLE portal_sessions
    ADD COLUMN session_ref CHAR(32) NULL AFTER session_key_hash,
    ADD KEY ix_portal_sessions_ref (session_ref);

ALTER TABLE employees
    ADD KEY ix_employees_last_login (last_login_at);
