"""A live source's run: its sync state in the CRM (`live_sync`), the pull, and what the
service says was deleted. The state is written in the run's transaction, so a failed,
killed or dry run never advances it."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from typing import Any

import polars as pl

from flows.live import LiveRequest
from flows.live.pull import Pulled
from transforms.sources.registry import read_records
from transforms.sources.table import RawTable
from transforms.store import CrmStore
from transforms.wording import count


def sync_key(req: LiveRequest) -> str:
    """Whose sync state: the account, and the mailbox or user it reads as where it reads
    another's (a service account --as, an app --user)."""
    who = req.as_user or req.user
    return req.target + (f"/{who}" if who else "")


def read_states(store: CrmStore, req: LiveRequest) -> dict[str, str]:
    """folder → the state its last completed run left (the provider names its folders)."""
    rows = store.query("SELECT folder, state FROM live_sync WHERE account = ? AND state IS NOT "
                       "NULL", [sync_key(req)])
    return dict(rows.rows())


def save_states(store: CrmStore, req: LiveRequest, pulled: Pulled, run_id: str) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    for folder, state in pulled.states.items():
        store.execute("DELETE FROM live_sync WHERE account = ? AND folder = ?",
                      [sync_key(req), folder])
        store.execute("INSERT INTO live_sync (account, folder, state, run_id, synced_at) "
                      "VALUES (?, ?, ?, ?, ?)", [sync_key(req), folder, state, run_id, now])


def last_syncs(store: CrmStore) -> dict[str, dict[str, Any]]:
    """account → its last completed sync (when, which run), for `crm-import accounts`."""
    rows = store.query("SELECT account, max(synced_at) AS synced_at, arg_max(run_id, synced_at) "
                       "AS run_id FROM live_sync GROUP BY account")
    return {a.split("/")[0]: {"synced_at": t.isoformat(timespec="seconds") if t else None,
                              "run_id": r} for a, t, r in rows.rows()}


def pull(req: LiveRequest, store: CrmStore) -> Pulled:
    """What changed in the account since the last completed run (all of it, the first time)."""
    provider = importlib.import_module(f"flows.live.{req.provider}")
    return provider.pull(req, read_states(store, req))


def pulled_table(req: LiveRequest, pulled: Pulled) -> RawTable:
    return read_records(req.provider, pulled.records, req.target)


def deleted_warning(store: CrmStore, req: LiveRequest, pulled: Pulled) -> list[dict[str, Any]]:
    """Contacts deleted in the service since the last sync: reported (with the CRM records
    earlier runs of this account made of them, where staging still says), never deleted."""
    if not pulled.deleted:
        return []
    runs = store.query("SELECT run_id FROM import_run WHERE file = ? AND status = 'completed'",
                       [req.target])["run_id"].to_list()
    made = _records_of(store, runs, pulled.deleted)
    shown = ", ".join(made[:10]) + (f" … ({len(made)} in all)" if len(made) > 10 else "")
    return [{"row": None, "column": None, "code": "contact_deleted",
             "message": f"{count(len(pulled.deleted), 'contact')} deleted in {req.target} since "
                        "the last sync; the CRM keeps what was imported of them"
                        + (f": {shown}" if made else "")}]


def _records_of(store: CrmStore, runs: list[str], ids: list[str]) -> list[str]:
    """The CRM records ("person 12") the account's staged runs made or matched from these
    API ids."""
    if not runs:
        return []
    staging = store.staging
    staging.register("deleted_ids", pl.DataFrame({"id": ids}, schema={"id": pl.String}))
    staging.register("account_runs", pl.DataFrame({"run_id": runs}, schema={"run_id": pl.String}))
    try:
        # a contact is its person; its company only where the row had no person (a
        # company row): a company others work for is not the deleted contact's
        rows = staging.query(
            "SELECT DISTINCT entity, crm_id FROM (SELECT p.entity, p.crm_id, "
            "bool_or(p.entity = 'person') OVER (PARTITION BY p.run_id, p.source_row) AS has_person "
            "FROM staging.raw_rows r JOIN account_runs a ON a.run_id = r.run_id "
            "JOIN staging.plan p ON p.run_id = r.run_id AND p.source_row = r.source_row "
            "JOIN deleted_ids d ON d.id = coalesce(json_extract_string(r.record, "
            "'$.resourceName'), json_extract_string(r.record, '$.id')) "
            "WHERE p.crm_id IS NOT NULL) WHERE entity = 'person' OR NOT has_person "
            "ORDER BY entity DESC, crm_id")
    finally:
        staging.unregister_all()
    return [f"{e} {i}" for e, i in rows.rows()]
