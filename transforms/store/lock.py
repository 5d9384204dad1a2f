"""One crm-import at a time per CRM: an advisory lock file beside the database.

DuckDB refuses a second process outright (even read-only); taking turns on our own lock
first turns that into a wait with a message naming the run that holds the CRM.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from contracts.errors import StoreUnavailable


class RunLock:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._fh: TextIO | None = None

    def holder(self) -> str:
        try:
            info = json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            return "another crm-import"
        what = info.get("note") or "another crm-import"
        return f"{what} (PID {info.get('pid', '?')}, since {info.get('since', '?')})"

    def acquire(self, *, wait: bool, on_wait: Callable[[str], None] | None, note: str,
                target: str) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release()
        except OSError as exc:  # a read-only disk, a file where a folder should be …
            raise StoreUnavailable(target, f"cannot write its lock file {self.path} "
                                   f"({exc.strerror or exc})",
                                   hint="a CRM must be on a disk crm-import may write to; copy "
                                        "it to one") from None
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            held_by = self.holder()
            if not wait:
                fh.close()
                raise StoreUnavailable(target, f"in use by {held_by}; not waiting (--no-wait)") from None
            if on_wait:
                on_wait(held_by)
            fcntl.flock(fh, fcntl.LOCK_EX)
        self._fh = fh
        self.update(note)

    def update(self, note: str) -> None:
        """Say what holds the lock (a waiting process shows it)."""
        if self._fh is None:
            return
        self._fh.seek(0)
        self._fh.truncate()
        self._fh.write(json.dumps({"pid": os.getpid(), "note": note,
                                   "since": time.strftime("%H:%M:%S")}))
        self._fh.flush()

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None
