"""Delete the records of a selection, as a recorded (and undoable) run."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from contracts.errors import CrmImportError
from contracts.fields import VALUE_TABLES
from transforms.apply import write_change_log
from transforms.report import new_run_id
from transforms.runs import selection_members
from transforms.store import ID_COLUMN
from transforms.store import sql as q
from transforms.store.base import CrmStore
from transforms.summary import scrubbed


def delete_selection(store: CrmStore, selection_id: str, *, dry_run: bool = False) -> dict[str, Any]:
    """Delete the selection's companies and persons with their phones/emails/URLs/interests.

    Persons outside the selection that belong to a deleted company lose the link (logged).
    Every removed row goes into change_log as JSON under a run of kind 'selection-delete',
    so `crm-import undo` of that run puts it all back.
    """
    members = selection_members(store, selection_id)
    ids = {e: members.filter(pl.col("entity") == e)["entity_id"] for e in ("company", "person")}
    counts = {e: int(s.len()) for e, s in ids.items()}
    run_id = new_run_id()
    summary: dict[str, Any] = {"run_id": run_id, "status": "preview" if dry_run else "completed",
               "selection_id": selection_id, "deleted": counts, "errors": []}
    if dry_run:
        return summary
    started = datetime.now(UTC)
    with store.transaction():
        log = []
        store.register("sel_company", pl.DataFrame({"id": ids["company"]}))
        store.register("sel_person", pl.DataFrame({"id": ids["person"]}))
        detached = store.query(
            "SELECT person_id AS entity_id, CAST(company_id AS VARCHAR) AS old_value FROM person "
            "WHERE company_id IN (SELECT id FROM sel_company) AND person_id NOT IN (SELECT id FROM sel_person)")
        if detached.height:
            store.register("sel_detach", detached)
            store.execute("UPDATE person SET company_id = NULL WHERE person_id IN "
                          "(SELECT entity_id FROM sel_detach)")
            log.append(detached.select(pl.lit("person").alias("entity"), "entity_id",
                                       pl.lit("update").alias("op"), pl.lit("company_id").alias("field"),
                                       "old_value", pl.lit(None, pl.String).alias("new_value")))
        for vt in VALUE_TABLES:
            for owner in ("company", "person"):
                gone = store.query(q.owned_rows(vt, f"sel_{owner}"), [owner])
                log.append(_deleted(gone, vt))
                store.execute(q.delete_owned(vt, f"sel_{owner}"), [owner])
        for table in ("person", "company"):
            gone = store.query(q.rows_in(table, ID_COLUMN[table], f"sel_{table}"))
            log.append(_deleted(gone, table))
            # the records' places in selections too: undo puts them back (issue 17 §6)
            places = store.query(q.members_of(f"sel_{table}"), [table])
            log.append(_deleted(places, "selection_member"))
            store.execute(q.delete_members(f"sel_{table}"), [table])
            store.execute(q.delete_ids(table, ID_COLUMN[table], f"sel_{table}"))
        write_change_log(store, log, run_id)
        store.execute(
            "INSERT INTO import_run (run_id, kind, source, file, started_at, finished_at, status, "
            "summary) VALUES (?, 'selection-delete', 'selection', ?, ?, ?, 'completed', ?)",
            [run_id, selection_id, started, datetime.now(UTC), json.dumps(summary)])
        store.unregister_all()
    return summary


def _deleted(rows: pl.DataFrame, table: str) -> pl.DataFrame:
    key = ID_COLUMN.get(table, "entity_id")  # (a selection member: by its record's id)
    return rows.select(pl.lit(table).alias("entity"), pl.col(key).cast(pl.Int64).alias("entity_id"),
                       pl.lit("delete").alias("op"), pl.lit("").alias("field"),
                       pl.struct(pl.all()).struct.json_encode().alias("old_value"),
                       pl.lit(None, pl.String).alias("new_value"))


class AgeInvalid(CrmImportError):
    def __init__(self, text: str):
        self.hint = "write an age such as 90d, 12w or 36h"
        super().__init__(f"--older-than {text!r} is not an age")


def parse_age(text: str) -> timedelta:
    import re

    m = re.fullmatch(r"\s*(\d+)\s*([dhw])\s*", text or "")
    if not m:
        raise AgeInvalid(text)
    n, unit = int(m.group(1)), m.group(2)
    return {"d": timedelta(days=n), "h": timedelta(hours=n), "w": timedelta(weeks=n)}[unit]


def purge(store: CrmStore, *, older_than: timedelta, dry_run: bool = False) -> dict[str, Any]:
    """Remove staging rows and change-log values of runs older than `older_than`."""
    try:
        cutoff = datetime.now(UTC) - older_than
    except OverflowError:  # older than the calendar: no run is
        cutoff = datetime.min.replace(tzinfo=UTC)
    runs = store.query("SELECT run_id FROM import_run WHERE started_at < ? AND purged_at IS NULL",
                       [cutoff.replace(tzinfo=None)])
    result = {"status": "preview" if dry_run else "completed", "runs": runs["run_id"].to_list(),
              "cutoff": cutoff.isoformat(timespec="seconds"), "errors": []}
    if dry_run or runs.height == 0:
        return result
    with store.transaction():
        staging = store.staging  # (a DuckDB file beside a server store)
        store.register("purge_runs", runs)
        if staging is not store:
            staging.register("purge_runs", runs)
        for t in staging.query(q.STORED_STAGING_TABLES)["table_name"]:
            staging.execute(f"DELETE FROM staging.{q.ident(t)} WHERE run_id IN (SELECT run_id FROM purge_runs)")
        store.execute("UPDATE change_log_entry SET old_value = NULL, new_value = NULL "
                      "WHERE run_id IN (SELECT run_id FROM purge_runs)")
        store.execute("UPDATE import_run SET purged_at = ? WHERE run_id IN (SELECT run_id FROM purge_runs)",
                      [datetime.now(UTC)])
        # their summaries too: an error or a warning may quote a value, an ERP run its search
        summaries = store.query("SELECT run_id, summary FROM import_run "
                                "WHERE run_id IN (SELECT run_id FROM purge_runs)")
        clean = pl.DataFrame({"run_id": summaries["run_id"], "summary": [
            json.dumps(scrubbed(json.loads(t)), ensure_ascii=False) if t else t
            for t in summaries["summary"].to_list()]}, schema={"run_id": pl.String,
                                                             "summary": pl.String})
        store.register("purged_summaries", clean)
        store.execute("UPDATE import_run SET summary = p.summary FROM purged_summaries p "
                      "WHERE import_run.run_id = p.run_id")
        store.unregister_all()
        staging.unregister_all()
    return result
