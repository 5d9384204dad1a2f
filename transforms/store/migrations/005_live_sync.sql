-- Version 5: where a live source's incremental sync stands (issue 19). One row per account
-- and folder ("google:ola@example.com", "connections"): the service's sync token or delta
-- link after the last completed run, written in that run's transaction.
CREATE TABLE IF NOT EXISTS live_sync (
    account VARCHAR NOT NULL,
    folder VARCHAR NOT NULL,
    state VARCHAR,
    run_id VARCHAR,
    synced_at TIMESTAMP,
    PRIMARY KEY (account, folder)
);
