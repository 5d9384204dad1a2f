-- Staging tables for analysts (SPEC §5): long tables keyed by run_id and source_row.
-- Documented in docs/STAGING.md. Kept in DuckDB (beside the CRM, or beside a server store).
CREATE SCHEMA IF NOT EXISTS staging;
CREATE TABLE IF NOT EXISTS staging.raw_rows (
    run_id VARCHAR, source_row BIGINT, record VARCHAR);
CREATE TABLE IF NOT EXISTS staging.canonical (
    run_id VARCHAR, source_row BIGINT, field VARCHAR, value VARCHAR);
CREATE TABLE IF NOT EXISTS staging.rejects (
    run_id VARCHAR, source_row BIGINT, "column" VARCHAR, field VARCHAR, value VARCHAR,
    reason VARCHAR);
CREATE TABLE IF NOT EXISTS staging.warnings (
    run_id VARCHAR, source_row BIGINT, "column" VARCHAR, field VARCHAR, value VARCHAR,
    code VARCHAR, reason VARCHAR);
CREATE TABLE IF NOT EXISTS staging.candidates (
    run_id VARCHAR, source_row BIGINT, entity VARCHAR, match_key VARCHAR, key_value VARCHAR,
    crm_id BIGINT);
CREATE TABLE IF NOT EXISTS staging.plan (
    run_id VARCHAR, source_row BIGINT, entity VARCHAR, outcome VARCHAR, crm_id BIGINT,
    reason VARCHAR);
CREATE TABLE IF NOT EXISTS staging.changes (
    run_id VARCHAR, source_row BIGINT, entity VARCHAR, crm_id BIGINT, field VARCHAR,
    old_value VARCHAR, new_value VARCHAR);
CREATE TABLE IF NOT EXISTS staging.suggestions (
    run_id VARCHAR, source_row BIGINT, entity VARCHAR, crm_id BIGINT, candidate_id BIGINT,
    candidate_row BIGINT, score DOUBLE, evidence VARCHAR);
