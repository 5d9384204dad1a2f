"""Read-side queries for the CLI: runs, one run's details, selections."""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from contracts.errors import RunNotFound, SelectionNotFound
from transforms.store.base import CrmStore

LAST = "last"  # stands for the newest run wherever a run id is asked for


def list_runs(store: CrmStore, limit: int = 50) -> pl.DataFrame:
    return store.query(
        "SELECT run_id, status, source, file, started_at, rows_read, rows_rejected, "
        "company_new, company_updated, person_new, person_updated, product_new, "
        "product_updated, batch_id, kind "
        "FROM import_run ORDER BY started_at DESC, run_id DESC LIMIT ?", [limit])


def resolve_run(store: CrmStore, run_id: str, *, completed: bool = False) -> str:
    """A run id as the user gave it: `last` is the newest run (`completed`: the newest that
    changed the CRM and is not undone — what undo and selections act on)."""
    if run_id != LAST:
        return run_id
    where = ("WHERE status IN ('completed', 'partly-undone') AND undone_at IS NULL "
             if completed else "")
    newest = store.scalar(f"SELECT run_id FROM import_run {where}"
                          "ORDER BY started_at DESC, run_id DESC LIMIT 1")
    if newest is None:
        raise RunNotFound(run_id)
    return str(newest)


def resolve_selection(store: CrmStore, selection_id: str) -> str:
    """`last-new`, `last-updated`: the newest run's selections."""
    run, sep, which = selection_id.rpartition("-")
    return (f"{resolve_run(store, run, completed=True)}{sep}{which}" if run == LAST
            else selection_id)


def run_summary(store: CrmStore, run_id: str) -> dict[str, Any]:
    found = store.query("SELECT summary, status FROM import_run WHERE run_id = ?", [run_id])
    if found.height == 0:
        raise RunNotFound(run_id)
    # the record's status is the last word (undone, interrupted after a kill)
    return {**json.loads(found["summary"][0]), "status": found["status"][0]}


def run_warnings(store: CrmStore, run_id: str, summary: dict[str, Any]) -> pl.DataFrame:
    """Every warning of a run: the run's own (no row: an identical file imported before,
    ERP actors gone, …) and each row's from staging.warnings (not cut at 100)."""
    own = [w for w in summary.get("warnings", [])
           if w.get("row") is None and w.get("code") not in ("more", "no_match_key")]
    rows = store.staging.query(
        'SELECT source_row AS "row", "column", code, reason AS message FROM staging.warnings '
        'WHERE run_id = ? ORDER BY source_row, "column", code', [run_id])
    head = pl.DataFrame({"row": [None] * len(own), "column": [w.get("column") for w in own],
                         "code": [w["code"] for w in own], "message": [w["message"] for w in own]},
                        schema=rows.schema)
    return pl.concat([head, rows])


CHANGE_LABELS = {  # the record a change is to, as people know it
    "company": "SELECT company_id AS crm_id, name AS record FROM company "
               "WHERE company_id IN (SELECT id FROM change_ids)",
    "person": "SELECT person_id AS crm_id, trim(concat_ws(' ', first_name, middle_name, "
              "last_name)) AS record FROM person WHERE person_id IN (SELECT id FROM change_ids)",
    "product": "SELECT product_id AS crm_id, coalesce(code, name) AS record FROM product "
               "WHERE product_id IN (SELECT id FROM change_ids)",
}


def run_changes(store: CrmStore, run_id: str) -> pl.DataFrame:
    """What a run (or a preview) changes in records that were there: per record and field,
    the old and the new value (staging.changes), with the record's name from the CRM."""
    changes = store.staging.query(
        "SELECT entity, crm_id, source_row AS \"row\", field, old_value, new_value "
        "FROM staging.changes WHERE run_id = ? "
        "ORDER BY entity, crm_id NULLS LAST, source_row, field",
        [run_id])
    labels = []
    for entity, sql in CHANGE_LABELS.items():
        ids = changes.filter(pl.col("entity") == entity)["crm_id"].unique()
        if ids.len():
            store.register("change_ids", pl.DataFrame({"id": ids}))
            try:
                labels.append(store.query(sql).with_columns(pl.lit(entity).alias("entity")))
            finally:
                store.unregister_all()
    named = (pl.concat(labels).select("entity", pl.col("crm_id").cast(changes["crm_id"].dtype),
                                      "record") if labels
             else pl.DataFrame(schema={"entity": pl.String, "crm_id": changes["crm_id"].dtype,
                                       "record": pl.String}))
    return (changes.join(named, on=["entity", "crm_id"], how="left")
            .select("entity", "crm_id", "record", "row", "field", "old_value", "new_value"))


def run_rejects(store: CrmStore, run_id: str) -> pl.DataFrame:
    return store.staging.query(
        'SELECT source_row AS "row", "column", value, reason FROM staging.rejects '
        "WHERE run_id = ? ORDER BY source_row, \"column\"", [run_id])


SELECTION_MEMBERS = """
SELECT m.entity, m.entity_id,
       coalesce(c.name, trim(concat_ws(' ', p.first_name, p.middle_name, p.last_name)), pr.name) AS name,
       coalesce(c.orgnr, pc.name, pr.code) AS detail
FROM selection_member m
LEFT JOIN company c ON m.entity = 'company' AND c.company_id = m.entity_id
LEFT JOIN person p ON m.entity = 'person' AND p.person_id = m.entity_id
LEFT JOIN company pc ON pc.company_id = p.company_id
LEFT JOIN product pr ON m.entity = 'product' AND pr.product_id = m.entity_id
WHERE m.selection_id = ?
ORDER BY m.entity, m.entity_id
"""


def _require_selection(store: CrmStore, selection_id: str) -> None:
    if store.scalar("SELECT count(*) FROM selection WHERE selection_id = ?", [selection_id]) == 0:
        raise SelectionNotFound(selection_id)


def selection_members(store: CrmStore, selection_id: str) -> pl.DataFrame:
    _require_selection(store, selection_id)
    return store.query(SELECTION_MEMBERS, [selection_id])


SELECTION_EXPORT = """
SELECT m.entity, m.entity_id,
       coalesce(c.name, pc.name) AS company, c.orgnr, c.vat_number,
       p.first_name, p.middle_name, p.last_name, p.position,
       coalesce(c.street, p.street) AS street, coalesce(c.postcode, p.postcode) AS postcode,
       coalesce(c.city, p.city) AS city,
       (SELECT string_agg(e.address, '; ' ORDER BY e.rank) FROM email e
        WHERE e.owner_kind = m.entity AND e.owner_id = m.entity_id) AS emails,
       (SELECT string_agg(ph.number, '; ' ORDER BY ph.rank) FROM phone ph
        WHERE ph.owner_kind = m.entity AND ph.owner_id = m.entity_id) AS phones
FROM selection_member m
LEFT JOIN company c ON m.entity = 'company' AND c.company_id = m.entity_id
LEFT JOIN person p ON m.entity = 'person' AND p.person_id = m.entity_id
LEFT JOIN company pc ON pc.company_id = p.company_id
WHERE m.selection_id = ?
ORDER BY m.entity, m.entity_id
"""


def selection_export_frame(store: CrmStore, selection_id: str) -> pl.DataFrame:
    _require_selection(store, selection_id)
    return store.query(SELECTION_EXPORT, [selection_id])


def earlier_imports(store: CrmStore, sha256: str, run_id: str) -> list[str]:
    """Completed, not undone runs of a file with the same content."""
    found = store.query("SELECT run_id FROM import_run WHERE file_sha256 = ? AND status = "
                        "'completed' AND run_id <> ? ORDER BY started_at", [sha256, run_id])
    return found["run_id"].to_list()


def rejected_records(store: CrmStore, run_id: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(source_row, record) of the run's rejected rows as they came in, and (source_row,
    column, reason) of why: what a fix-and-re-import spreadsheet is made of."""
    raw = store.staging.query("SELECT r.source_row, r.record FROM staging.raw_rows r WHERE "
                              "r.run_id = ? AND r.source_row IN (SELECT source_row FROM "
                              "staging.rejects WHERE run_id = ?)", [run_id, run_id])
    why = store.staging.query('SELECT source_row, "column", reason FROM staging.rejects '
                              "WHERE run_id = ? ORDER BY source_row", [run_id])
    return raw, why
