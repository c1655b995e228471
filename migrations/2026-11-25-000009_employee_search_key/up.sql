-- The folded name, kana and department the employee search compares (domain::search_key),
-- kept by every write of those columns. NULL until computed: the folding is done in Rust, so
-- `staffgate migrate` fills the rows after the migrations; a later change of the folding sets
-- the column back to NULL to have it filled again. Binary collation: the key is folded
-- already, and a case- or accent-insensitive collation would fold more than it should (ハ=パ).
-- Three columns of at most 100 characters, each at most doubled by lower-casing.
ALTER TABLE employees
    ADD COLUMN search_key VARCHAR(640) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL;
