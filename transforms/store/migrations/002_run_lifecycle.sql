-- Version 2: runs can be undone and purged; selection deletes are recorded as runs too.
ALTER TABLE import_run ADD COLUMN IF NOT EXISTS kind VARCHAR DEFAULT 'import';
ALTER TABLE import_run ADD COLUMN IF NOT EXISTS undone_at TIMESTAMP;
ALTER TABLE import_run ADD COLUMN IF NOT EXISTS purged_at TIMESTAMP;
