DROP TABLE mail_outbox;
DROP TABLE sheet_prints;
DROP TABLE admin_audit;
DROP TABLE settings;
DROP TABLE portal_sessions;
