"""`crm-import demo`: seed a small CRM, then import the bundled sample spreadsheet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from contracts.errors import StoreUnavailable
from flows.config import open_crm
from flows.pipeline import ImportRequest, import_contacts
from transforms.store.urls import is_postgres

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def run_demo(db: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A fresh demo database each time: the seed import, then the sample import.
    (A server database is never wiped: the demo wants an empty one.)"""
    if is_postgres(db):
        with open_crm(db) as store:
            if store.scalar("SELECT count(*) FROM company") or store.scalar("SELECT count(*) FROM person"):
                raise StoreUnavailable(store.target, "the demo needs an empty CRM database and "
                                       "this one holds records; create one for it (createdb)")
    else:
        target = Path(db)
        for stale in (target, target.with_name(target.name + ".wal")):
            stale.unlink(missing_ok=True)
    seeded = import_contacts(ImportRequest(file=str(SAMPLES / "demo_crm_seed.csv"), db=db))
    if seeded["status"] != "completed":
        return seeded, seeded
    summary = import_contacts(ImportRequest(file=str(SAMPLES / "contacts.xlsx"), db=db))
    return seeded, summary
