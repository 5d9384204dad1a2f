"""What a pull gives the pipeline, whichever service it came from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Pulled:
    records: list[dict[str, Any]]  # the API's contact records, in pull order (source_row 1…)
    deleted: list[str] = field(default_factory=list)  # ids the service says were deleted
    # the sync state per folder, to keep once the run has committed (None: none offered)
    states: dict[str, str | None] = field(default_factory=dict)
    mode: str = "full"  # full | incremental
    warnings: list[dict[str, Any]] = field(default_factory=list)  # (the summary's shape)
    retries: int = 0

    def take(self, records: list[dict[str, Any]],
             deleted: Callable[[dict[str, Any]], str | None]) -> None:
        """A page's records: the contacts, and the ids of those the service says are gone
        (`deleted`: the id of a deletion marker, None for a contact)."""
        for record in records:
            gone = deleted(record)
            if gone is None:
                self.records.append(record)
            else:
                self.deleted.append(gone)

    def sync_summary(self) -> dict[str, Any]:
        """The summary's "sync" object."""
        return {"mode": self.mode, "pulled": len(self.records), "deleted": len(self.deleted)}


def expired_warning(target: str, folder: str) -> dict[str, Any]:
    return {"row": None, "column": None, "code": "sync_expired",
            "message": f"{target}: the sync state of {folder} had expired; the whole folder "
                       "was pulled again"}
