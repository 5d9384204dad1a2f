-- Version 3: the files of one folder import (`crm-import run DIR/`) share a batch id.
ALTER TABLE import_run ADD COLUMN IF NOT EXISTS batch_id VARCHAR;
