DROP TABLE signin_gates;
DELETE FROM login_attempts WHERE success = FALSE AND settled_at IS NULL;
ALTER TABLE login_attempts DROP COLUMN settled_at;
