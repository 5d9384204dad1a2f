-- Staging tables for analysts (SPEC §5): long tables keyed by run_id and source_row.
-- Documented in docs/STAGING.md. Kept in DuckDB (beside the CRM, or beside a server store).
CREATE SCHEMA IF NOT EXISTS staging;
-- raw_rows: a record of the file a row, with its mapped values (`fields`: the non-empty
-- ones, under their canonical names); staging.canonical is a view that unpivots them, one
-- row a value, as it was a table before (a file's values are stored once, not 8 rows a
-- record). Files of older versions are converted on open (DuckDBStore.ensure_schema).
CREATE TABLE IF NOT EXISTS staging.raw_rows (
    run_id VARCHAR, source_row BIGINT, record VARCHAR,
    fields STRUCT(field VARCHAR, value VARCHAR)[]);
ALTER TABLE staging.raw_rows ADD COLUMN IF NOT EXISTS fields STRUCT(field VARCHAR, value VARCHAR)[];
CREATE VIEW IF NOT EXISTS staging.canonical AS
    SELECT run_id, source_row, f.field AS field, f.value AS value
    FROM (SELECT run_id, source_row, unnest(fields) AS f FROM staging.raw_rows);
CREATE TABLE IF NOT EXISTS staging.rejects (
    run_id VARCHAR, source_row BIGINT, "column" VARCHAR, field VARCHAR, value VARCHAR,
    reason VARCHAR);
CREATE TABLE IF NOT EXISTS staging.warnings (
    run_id VARCHAR, source_row BIGINT, "column" VARCHAR, field VARCHAR, value VARCHAR,
    code VARCHAR, reason VARCHAR);
-- outcomes: what became of a row of the file, one row a row (its plan, field changes and
-- match candidates as lists); staging.plan, staging.changes and staging.candidates are
-- views that unnest them, one row an entry, as they were tables before (2026-12). Files
-- of older versions are converted on open (DuckDBStore.ensure_schema).
CREATE TABLE IF NOT EXISTS staging.outcomes (
    run_id VARCHAR, source_row BIGINT,
    plan STRUCT(entity VARCHAR, outcome VARCHAR, crm_id BIGINT, reason VARCHAR)[],
    changes STRUCT(entity VARCHAR, crm_id BIGINT, field VARCHAR, old_value VARCHAR,
                   new_value VARCHAR)[],
    candidates STRUCT(entity VARCHAR, match_key VARCHAR, key_value VARCHAR, crm_id BIGINT)[]);
CREATE VIEW IF NOT EXISTS staging.candidates AS
    SELECT run_id, source_row, c.entity AS entity, c.match_key AS match_key,
           c.key_value AS key_value, c.crm_id AS crm_id
    FROM (SELECT run_id, source_row, unnest(candidates) AS c FROM staging.outcomes);
-- created: the ids the records a run created were created under, written once it has
-- committed, a row a chunk and entity: source_rows[i] made crm_ids[i]. staging.plan shows
-- them; writing them into staging.outcomes instead rewrote every row that created a
-- record (1.7 s at 1M rows, ~27 s at 10M). Runs of older versions have them in outcomes;
-- their files' staging.plan is made again on open (DuckDBStore._plan_view_before).
CREATE TABLE IF NOT EXISTS staging.created (
    run_id VARCHAR, entity VARCHAR, source_rows BIGINT[], crm_ids BIGINT[]);
CREATE VIEW IF NOT EXISTS staging.plan AS
    SELECT o.run_id, o.source_row, o.p.entity AS entity, o.p.outcome AS outcome,
           coalesce(o.p.crm_id, c.crm_id) AS crm_id, o.p.reason AS reason
    FROM (SELECT run_id, source_row, unnest(plan) AS p FROM staging.outcomes) o
    LEFT JOIN (SELECT run_id, entity, unnest(source_rows) AS source_row,
                      unnest(crm_ids) AS crm_id FROM staging.created) c
        ON c.run_id = o.run_id AND c.source_row = o.source_row AND c.entity = o.p.entity;
CREATE VIEW IF NOT EXISTS staging.changes AS
    SELECT run_id, source_row, c.entity AS entity, c.crm_id AS crm_id, c.field AS field,
           c.old_value AS old_value, c.new_value AS new_value
    FROM (SELECT run_id, source_row, unnest(changes) AS c FROM staging.outcomes);
CREATE TABLE IF NOT EXISTS staging.suggestions (
    run_id VARCHAR, source_row BIGINT, entity VARCHAR, crm_id BIGINT, candidate_id BIGINT,
    candidate_row BIGINT, score DOUBLE, evidence VARCHAR);
