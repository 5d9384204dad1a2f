-- Version 7: the phones, e-mails, URLs and interests a run adds are logged as id ranges
-- (issue 21). They were a change-log row each, their row as JSON: 1.8 of the 2.95 rows
-- written per row of a 1M-row file. `change_log` is now a view with the same columns and
-- rows: the entries as stored (`change_log_entry`, what `change_log` held) and a row per id
-- of each range (`change_log_range`), its `new_value` the value row as the CRM holds it
-- (NULL once the row is gone, or the run purged). A run's ids of one table and chunk are
-- one range (ids are handed out a block at a time), and so are their change ids.
-- `{json_object}` is the store's JSON constructor (DuckDB json_object, PostgreSQL
-- json_build_object). A column added to a value table later needs this view made again.
-- (`change_log` is renamed `change_log_entry` first, by `CrmStore.migration`: where it is a
-- table still.)
CREATE TABLE IF NOT EXISTS change_log_range (
    run_id VARCHAR NOT NULL,
    change_id BIGINT NOT NULL,
    entity VARCHAR NOT NULL,
    first_id BIGINT NOT NULL,
    last_id BIGINT NOT NULL
);
CREATE OR REPLACE VIEW change_log AS
SELECT change_id, run_id, entity, entity_id, op, field, old_value, new_value
FROM change_log_entry
UNION ALL
SELECT r.change_id + g.id - r.first_id, r.run_id, r.entity, g.id, 'insert', '',
       CAST(NULL AS VARCHAR),
       CASE WHEN v.phone_id IS NOT NULL AND u.purged_at IS NULL THEN CAST({json_object}(
           'owner_kind', v.owner_kind, 'owner_id', v.owner_id, 'kind', v.kind,
           'number', v.number, 'number_e164', v.number_e164, 'rank', v.rank) AS VARCHAR) END
FROM change_log_range r
CROSS JOIN LATERAL generate_series(r.first_id, r.last_id) AS g(id)
LEFT JOIN import_run u ON u.run_id = r.run_id
LEFT JOIN phone v ON v.phone_id = g.id
WHERE r.entity = 'phone'
UNION ALL
SELECT r.change_id + g.id - r.first_id, r.run_id, r.entity, g.id, 'insert', '',
       CAST(NULL AS VARCHAR),
       CASE WHEN v.email_id IS NOT NULL AND u.purged_at IS NULL THEN CAST({json_object}(
           'owner_kind', v.owner_kind, 'owner_id', v.owner_id, 'address', v.address,
           'rank', v.rank) AS VARCHAR) END
FROM change_log_range r
CROSS JOIN LATERAL generate_series(r.first_id, r.last_id) AS g(id)
LEFT JOIN import_run u ON u.run_id = r.run_id
LEFT JOIN email v ON v.email_id = g.id
WHERE r.entity = 'email'
UNION ALL
SELECT r.change_id + g.id - r.first_id, r.run_id, r.entity, g.id, 'insert', '',
       CAST(NULL AS VARCHAR),
       CASE WHEN v.url_id IS NOT NULL AND u.purged_at IS NULL THEN CAST({json_object}(
           'owner_kind', v.owner_kind, 'owner_id', v.owner_id, 'url', v.url,
           'rank', v.rank) AS VARCHAR) END
FROM change_log_range r
CROSS JOIN LATERAL generate_series(r.first_id, r.last_id) AS g(id)
LEFT JOIN import_run u ON u.run_id = r.run_id
LEFT JOIN url v ON v.url_id = g.id
WHERE r.entity = 'url'
UNION ALL
SELECT r.change_id + g.id - r.first_id, r.run_id, r.entity, g.id, 'insert', '',
       CAST(NULL AS VARCHAR),
       CASE WHEN v.interest_id IS NOT NULL AND u.purged_at IS NULL THEN CAST({json_object}(
           'owner_kind', v.owner_kind, 'owner_id', v.owner_id, 'value', v.value) AS VARCHAR) END
FROM change_log_range r
CROSS JOIN LATERAL generate_series(r.first_id, r.last_id) AS g(id)
LEFT JOIN import_run u ON u.run_id = r.run_id
LEFT JOIN interest v ON v.interest_id = g.id
WHERE r.entity = 'interest';
