-- Version 6: pairs of possible duplicates a person looked at and kept apart (issue 20,
-- `crm-import duplicates apply`: action "keep both"), so they are not listed again.
-- a < b; run_id: the merge run that recorded it (its undo forgets it).
CREATE TABLE IF NOT EXISTS duplicate_decision (
    entity VARCHAR NOT NULL,
    a BIGINT NOT NULL,
    b BIGINT NOT NULL,
    decision VARCHAR NOT NULL,
    run_id VARCHAR,
    PRIMARY KEY (entity, a, b)
);
