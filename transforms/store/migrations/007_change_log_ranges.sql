-- Version 7: the phones, e-mails, URLs and interests a run adds are logged as id ranges
-- (issue 21). They were a change-log row each, their row as JSON: 1.8 of the 2.95 rows
-- written per row of a 1M-row file. `change_log` is now a view with the same columns and
-- rows: the entries as stored (`change_log_entry`, what `change_log` held) and a row per id
-- of each range (`change_log_range`), its `new_value` the value row as the CRM holds it
-- (NULL once the row is gone, or the run purged). A run's ids of one table and chunk are
-- one range (ids are handed out a block at a time), and so are their change ids.
-- `{json_object}` is the store's JSON constructor (DuckDB json_object, PostgreSQL
-- json_build_object). A column added to a value table later needs this view made again.
-- @rename change_log change_log_entry
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
       CAST(CASE WHEN u.purged_at IS NOT NULL THEN NULL
            WHEN ph.phone_id IS NOT NULL THEN {json_object}(
                'owner_kind', ph.owner_kind, 'owner_id', ph.owner_id, 'kind', ph.kind,
                'number', ph.number, 'number_e164', ph.number_e164, 'rank', ph.rank)
            WHEN em.email_id IS NOT NULL THEN {json_object}(
                'owner_kind', em.owner_kind, 'owner_id', em.owner_id, 'address', em.address,
                'rank', em.rank)
            WHEN ur.url_id IS NOT NULL THEN {json_object}(
                'owner_kind', ur.owner_kind, 'owner_id', ur.owner_id, 'url', ur.url,
                'rank', ur.rank)
            WHEN it.interest_id IS NOT NULL THEN {json_object}(
                'owner_kind', it.owner_kind, 'owner_id', it.owner_id, 'value', it.value)
            END AS VARCHAR)
FROM change_log_range r
CROSS JOIN LATERAL generate_series(r.first_id, r.last_id) AS g(id)
LEFT JOIN import_run u ON u.run_id = r.run_id
LEFT JOIN phone ph ON r.entity = 'phone' AND ph.phone_id = g.id
LEFT JOIN email em ON r.entity = 'email' AND em.email_id = g.id
LEFT JOIN url ur ON r.entity = 'url' AND ur.url_id = g.id
LEFT JOIN interest it ON r.entity = 'interest' AND it.interest_id = g.id;
