"""The run summary (SPEC §5 `--json`), run ids, and the run record in `import_run`."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from contracts.errors import CrmImportError
from transforms.store.base import CrmStore
from transforms.summary import ENTITIES, OUTCOMES
from transforms.wording import count, plural

MAX_WARNINGS_LISTED = 100


def new_run_id(now: datetime | None = None) -> str:
    """Sortable and readable: r20261128-004512-3f2a."""
    now = now or datetime.now(UTC)
    return f"r{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class ExcludeRowsInvalid(CrmImportError):
    def __init__(self, text: str, problem: str = "is not a list of rows"):
        self.hint = "write row numbers as the file shows them, e.g. --exclude-rows 3,7-9"
        super().__init__(f"--exclude-rows {text if len(text) < 60 else text[:57] + '…'!r} "
                         f"{problem}")


MAX_ROW = 100_000_000  # beyond any file we import (10M rows is a large one)
MAX_EXCLUDED = 1_000_000  # rows a person leaves out by number; more is another file


def parse_row_list(text: str | None) -> list[int]:
    """"3,7-9" → [3, 7, 8, 9]."""
    if not text:
        return []
    rows: list[int] = []
    for part in text.split(","):
        part = part.strip()
        m = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", part)
        if not m:
            raise ExcludeRowsInvalid(text)
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if hi < lo:
            raise ExcludeRowsInvalid(text)
        if hi > MAX_ROW:
            raise ExcludeRowsInvalid(text, f"names row {hi}, beyond any file (at most "
                                           f"{MAX_ROW:,})")
        if len(rows) + hi - lo + 1 > MAX_EXCLUDED:
            raise ExcludeRowsInvalid(text, f"leaves out more than {MAX_EXCLUDED:,} rows; "
                                           "import the part of the file you want instead")
        rows.extend(range(lo, hi + 1))
    return rows


def warnings_list(warnings: pl.DataFrame) -> list[dict[str, Any]]:
    """Warnings for the summary: row, column, code, message; no cell values (personal data)."""
    listed = warnings.sort("source_row", "column", "code", "reason", nulls_last=True).head(
        MAX_WARNINGS_LISTED)
    out = [{"row": r, "column": c, "code": k, "message": m}
           for r, c, k, m in zip(listed["source_row"].to_list(), listed["column"].to_list(),
                                 listed["code"].to_list(), listed["reason"].to_list(), strict=True)]
    if warnings.height > MAX_WARNINGS_LISTED:
        more = warnings.height - MAX_WARNINGS_LISTED
        out.append({"row": None, "column": None, "code": "more", "count": more,
                    "message": f"{count(more, 'more warning')} in staging.warnings"})
    no_key = warnings.filter(pl.col("code") == "no_match_key").height
    if no_key:
        out.insert(0, {"row": None, "column": None, "code": "no_match_key",
                       "message": f"{count(no_key, 'row')} had an empty match key and "
                                  f"{plural(no_key, 'was')} created as new; importing the "
                                  "file again creates "
                                  f"{'it' if no_key == 1 else 'them'} again"})
    return out


def check_rejects(path: str, rejected: int, read: int, limit: float | int,
                  run_id: str) -> None:
    """Above `[import] max_rejects` (a share, or a row count) nothing is applied."""
    from contracts.errors import TooManyRejects

    if rejected > limit * read if isinstance(limit, float) else rejected > limit:
        raise TooManyRejects(path, rejected, read, limit, run_id)


def record_run(store: CrmStore, summary: dict[str, Any], *, settings_json: str | None,
               sha256: str | None, started_at: datetime, finished_at: datetime | None) -> None:
    """Insert or update the run's row in import_run (bookkeeping, not CRM data): an
    import's, or another kind's that its summary names (a merge's: its counts are what
    `crm-import runs` lists)."""
    counts = {f"{e}_{o}": summary[e][o] for e in ENTITIES for o in OUTCOMES}
    values = {
        "run_id": summary["run_id"], "kind": summary.get("kind", "import"),
        "source": summary["source"], "file": summary["file"],
        "file_sha256": sha256, "settings": settings_json, "started_at": _naive_utc(started_at),
        "finished_at": _naive_utc(finished_at), "status": summary["status"],
        "rows_read": summary["rows"]["read"], "rows_rejected": summary["rows"]["rejected"],
        **counts, "summary": json.dumps(summary, ensure_ascii=False),
        "batch_id": summary.get("batch_id"),
    }
    store.execute("DELETE FROM import_run WHERE run_id = ?", [summary["run_id"]])
    cols = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    store.execute(f"INSERT INTO import_run ({cols}) VALUES ({marks})", list(values.values()))


def _naive_utc(moment: datetime | None) -> datetime | None:
    """TIMESTAMP columns hold UTC without a zone, whatever the machine's zone."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment else None
