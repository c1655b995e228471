ALTER TABLE mail_outbox
    DROP KEY uq_mail_outbox_dedupe,
    DROP COLUMN failed_at,
    DROP COLUMN dedupe_key;

ALTER TABLE employees
    DROP COLUMN password_expiry_offset_days,
    DROP COLUMN password_length_class;
