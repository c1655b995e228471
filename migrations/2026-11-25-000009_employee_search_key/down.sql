ALTER TABLE employees DROP COLUMN search_key;
