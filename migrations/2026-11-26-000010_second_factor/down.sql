ALTER TABLE refresh_tokens DROP COLUMN amr;
DROP TABLE mfa_resets;
DROP TABLE mfa_tokens;
DROP TABLE passkeys;
DROP TABLE recovery_codes;
DROP TABLE second_factors;
