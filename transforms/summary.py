"""`RunSummary`: what a run reports (SPEC §5 `--json`), built in one place.

The pipeline, the chunked path and the run record fill one typed object; `as_json()` gives
the documented object (the keys below, optional ones only when known).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ENTITIES = ("company", "person", "product")
OUTCOMES = ("new", "updated", "unchanged", "skipped", "ambiguous")
Counts = dict[str, int]


def no_counts() -> Counts:
    return dict.fromkeys(OUTCOMES, 0)


def warning_total(warnings: list[dict[str, Any]]) -> int:
    """How many warnings a summary's list stands for: those listed, and those its `more`
    entry counts (the list stops at 100; staging.warnings has them all)."""
    return sum(int(w.get("count") or 0) if w.get("code") == "more" else 1 for w in warnings)


@dataclass
class Rows:
    read: int = 0
    rejected: int = 0
    excluded: int | None = None  # with --exclude-rows

    def as_json(self) -> dict[str, int]:
        out = {"read": self.read, "rejected": self.rejected}
        if self.excluded is not None:
            out["excluded"] = self.excluded
        return out


@dataclass
class RunSummary:
    run_id: str
    source: str
    file: str
    status: str = "failed"  # completed | preview | failed (until the run says otherwise)
    rows: Rows = field(default_factory=Rows)
    counts: dict[str, Counts] = field(default_factory=lambda: {e: no_counts() for e in ENTITIES})
    selections: dict[str, str | None] = field(
        default_factory=lambda: {"new": None, "updated": None})
    warnings: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # known for some runs only
    batch_id: str | None = None
    timings: dict[str, float] = field(default_factory=dict)  # stage → seconds
    sheet: str | None = None
    encoding: str | None = None
    format: str | None = None
    duplicate_of: list[str] | None = None  # runs of an identical file
    mapping: dict[str, Any] | None = None  # columns (header → field), unmapped
    erp: dict[str, Any] | None = None
    sync: dict[str, Any] | None = None  # a live source: {"mode", "pulled", "deleted"}
    suggestions: dict[str, int] | None = None  # possible duplicates of new records
    price_list: str | None = None
    chunks: int | None = None
    planned: dict[str, Counts] | None = None  # a failed run: what its plan held

    def count(self, entity: str, counts: Counts) -> None:
        self.counts[entity] = {o: int(counts.get(o, 0)) for o in OUTCOMES}

    def completed(self) -> None:
        self.status = "completed"
        self.selections = {"new": f"{self.run_id}-new", "updated": f"{self.run_id}-updated"}

    def failed(self, error: str, *, planned: bool = True) -> None:
        """Nothing was applied: the counts say so; what the plan held is kept apart."""
        self.status = "failed"
        self.selections = {"new": None, "updated": None}
        self.errors.append(error)
        if planned:
            held = {e: c for e, c in self.counts.items() if any(c.values())}
            if held:
                self.planned = held
                self.counts = {e: no_counts() for e in ENTITIES}

    def note_duplicate(self) -> None:
        """An identical file imported before comes first among the warnings."""
        if self.duplicate_of:
            self.warnings.insert(0, {
                "row": None, "column": None, "code": "duplicate_file",
                "message": "an identical file was imported before, as run "
                           + ", ".join(self.duplicate_of)})

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "run_id": self.run_id, "status": self.status, "source": self.source,
            "file": self.file, "rows": self.rows.as_json(),
            **{e: dict(self.counts[e]) for e in ENTITIES},
            "selections": dict(self.selections), "warnings": list(self.warnings),
            "errors": list(self.errors), "timings": dict(self.timings),
        }
        optional = {"batch_id": self.batch_id,
                    "sheet": self.sheet, "encoding": self.encoding, "format": self.format,
                    "duplicate_of": self.duplicate_of, "mapping": self.mapping, "erp": self.erp,
                    "sync": self.sync, "suggestions": self.suggestions, "price_list": self.price_list, "chunks": self.chunks,
                    "planned": self.planned}
        out.update({k: v for k, v in optional.items() if v is not None})
        return out


def scrubbed(summary: dict[str, Any]) -> dict[str, Any]:
    """A purged run's summary: counts and names of columns stay; what could quote a value
    goes (warning and error texts, ERP search values and keys)."""
    out = dict(summary)
    out["warnings"] = [{"row": w.get("row"), "column": w.get("column"), "code": w.get("code"),
                        "message": "(purged)"} for w in summary.get("warnings", [])]
    out["errors"] = ["(purged)" for _ in summary.get("errors", [])]
    if isinstance(out.get("erp"), dict):
        erp = dict(out["erp"])
        erp["where"] = {k: "(purged)" for k in erp.get("where") or {}}
        if isinstance(erp.get("gone"), list):
            erp["gone"] = len(erp["gone"])
        out["erp"] = erp
    out["purged"] = True
    return out
