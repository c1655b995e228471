-- An attempt is pending (admitted, its password still being checked) until settled_at is set;
-- only settled failures count against the limits, pending ones only occupy a slot.
ALTER TABLE login_attempts ADD COLUMN settled_at DATETIME(6) NULL AFTER success;
UPDATE login_attempts SET settled_at = created_at;

-- One row per client address: admissions from one address lock it, so every node counts that
-- address's attempts one admission at a time.
CREATE TABLE signin_gates (
    name VARCHAR(64) NOT NULL PRIMARY KEY,
    touched_at DATETIME(6) NOT NULL,
    KEY ix_signin_gates_touched (touched_at)
) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin;
