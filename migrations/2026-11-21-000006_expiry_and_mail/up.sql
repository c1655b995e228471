-- Password expiry: the length band of the password when it was set (never the password; 0
-- below 13 characters, else its length capped at 16), for the long-password exemption; and a
-- per-account offset in days that brings the first expiry of bulk-created accounts forward,
-- so they do not all expire on one day.
ALTER TABLE employees
    ADD COLUMN password_length_class INT NOT NULL DEFAULT 0 AFTER password_updated_at,
    ADD COLUMN password_expiry_offset_days INT NOT NULL DEFAULT 0 AFTER password_length_class;

-- Outbox: a unique key so a scan run by several nodes queues one message per event, and the
-- time the worker gave up on a message.
ALTER TABLE mail_outbox
    ADD COLUMN dedupe_key VARCHAR(191) NULL AFTER template,
    ADD COLUMN failed_at DATETIME(6) NULL AFTER sent_at,
    ADD UNIQUE KEY uq_mail_outbox_dedupe (dedupe_key);
