"""Folder imports (`crm-import run DIR/`): one import run per file — each with its own
summary, selections and undo — grouped under one batch id that `runs` shows.

Files are prepared (read, mapped, validated) where the runner puts them: here, one after
the other (`local`), or as Dask tasks on a cluster (`dask`, `dask://ADDRESS`, through
Prefect's DaskTaskRunner). Planning against the CRM and the load stay here, one file at a
time in name order, set-based in the store: the results do not depend on the runner.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from contracts.errors import CrmImportError
from flows.pipeline import ImportRequest, Prepared, PrepareFailed, import_file, run_inline
from transforms.sources import IMPORTABLE  # (one list: the readers')


class FolderEmpty(CrmImportError):
    def __init__(self, folder: str):
        self.hint = "importable: " + ", ".join(sorted(IMPORTABLE))
        super().__init__(f"{folder}: no importable files in this folder")


def folder_files(folder: Path) -> list[Path]:
    """The folder's importable files in name order (hidden and unfinished ones wait; a link
    that leads out of the folder is left alone: see `outside_links`)."""
    outside = set(outside_links(folder))
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                  and p.suffix.lower() in IMPORTABLE and p not in outside)


def outside_links(folder: Path) -> list[Path]:
    """Links in the folder to files outside it: never imported from a folder (a drop
    folder must not become a way to read any file the importer can)."""
    root = folder.resolve()
    return sorted(p for p in folder.iterdir() if p.is_symlink()
                  and not p.resolve().is_relative_to(root))


def new_batch_id(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"b{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def file_requests(req: ImportRequest, folder: Path, batch_id: str | None) -> list[ImportRequest]:
    """One request per file of the folder (or for the one file named)."""
    if not folder.is_dir():
        return [replace(req, file=str(folder), batch_id=batch_id)]
    files = folder_files(folder)
    if not files:
        raise FolderEmpty(str(folder))
    return [replace(req, file=str(f), batch_id=batch_id) for f in files]


def batch_summary(batch_id: str, folder: str, runner: str,
                  summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """The folder's result: its runs, and the counts added up."""
    total: dict[str, Any] = {"rows": {"read": 0, "rejected": 0}}
    for s in summaries:
        for k in ("read", "rejected"):
            total["rows"][k] += s["rows"][k]
        for entity in ("company", "person", "product"):
            for outcome, n in s[entity].items():
                total.setdefault(entity, {}).setdefault(outcome, 0)
                total[entity][outcome] += n
    failed = [s for s in summaries if s["status"] == "failed"]
    skipped = [{"file": p.name, "reason": "a link to a file outside the folder"}
               for p in outside_links(Path(folder))]
    return {"batch_id": batch_id, "folder": folder, "runner": runner,
            "status": "failed" if failed else "completed", "files": len(summaries),
            "failed": len(failed), **total, "runs": summaries,
            "errors": [f"{Path(s['file']).name}: {e}" for s in failed for e in s["errors"]],
            **({"skipped": skipped} if skipped else {})}


def import_each(requests: list[ImportRequest], *, run: Callable[..., Any] = run_inline,
                report: Callable[[], Any] | None = None,
                ready: Callable[[int], Prepared | PrepareFailed] | None = None,
                on_wait: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Plan and load each file in name order — prepared here, or (`ready`) as soon as its
    preparation is back from the workers."""
    return [import_file(r, run=run, report=report() if report else None, on_wait=on_wait,
                        prepared=ready(i) if ready else None)
            for i, r in enumerate(requests)]
