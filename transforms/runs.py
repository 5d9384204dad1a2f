"""Read-side queries for the CLI: runs, one run's details, selections."""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from contracts.errors import RunNotFound, SelectionNotFound
from transforms.store.base import CrmStore


def list_runs(store: CrmStore, limit: int = 50) -> pl.DataFrame:
    return store.query(
        "SELECT run_id, status, source, file, started_at, rows_read, rows_rejected, "
        "company_new, company_updated, person_new, person_updated, batch_id "
        "FROM import_run ORDER BY started_at DESC, run_id DESC LIMIT ?", [limit])


def run_summary(store: CrmStore, run_id: str) -> dict[str, Any]:
    text = store.scalar("SELECT summary FROM import_run WHERE run_id = ?", [run_id])
    if text is None:
        raise RunNotFound(run_id)
    return json.loads(text)


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
