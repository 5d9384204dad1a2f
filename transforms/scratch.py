"""Scratch folders a run writes its work into, and what a killed run left of them.

A run's folders are removed when it ends, however it fails; a run killed outright (SIGKILL,
out of memory, power) cannot, and a 10M-row run leaves gigabytes. So each folder is named
for the host and process that made it, and the next run removes those whose process is
gone — on this host only: a temp folder shared between machines is left to its own.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
from pathlib import Path

PREFIX = "crm-import-"


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:32] or "host"


def scratch_folder(kind: str, where: Path | str | None = None
                   ) -> tempfile.TemporaryDirectory[str]:
    """A new folder `crm-import-<kind>-<host>-<pid>-…` in `where` (else the system's temp
    folder), removed when closed; first, the folders there of this host's processes that
    are gone."""
    sweep(where)
    return tempfile.TemporaryDirectory(prefix=f"{PREFIX}{kind}-{_host()}-{os.getpid()}-",
                                       dir=where)


def sweep(where: Path | str | None = None) -> list[Path]:
    """Remove the scratch folders in `where` (else the system's temp folder) whose process,
    on this host, is no longer running; the removed."""
    root = Path(where or tempfile.gettempdir())
    named = re.compile(rf"{re.escape(PREFIX)}[a-z]+-{re.escape(_host())}-(\d+)-[^/]+")
    removed = []
    for path in root.glob(f"{PREFIX}*-{_host()}-*"):
        found = named.fullmatch(path.name)
        if found and path.is_dir() and not _running(int(found[1])):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _running(pid: int) -> bool:
    if os.name == "nt":  # (signal 0 would end it there: never swept)
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # (another user's: running)
        return True
    return True
