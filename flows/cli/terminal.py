"""The terminal's reporter: a progress bar on stderr (imported only for an import)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import polars as pl

from flows.request import Reporter


class TerminalReporter(Reporter):
    """A progress display on stderr when it is a terminal; silent otherwise."""

    def __init__(self) -> None:
        self.live = sys.stderr.isatty()
        self._progress = None
        self._told = False  # a chunked run says how far it is itself
        if self.live:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                                      BarColumn(), TimeElapsedColumn(),
                                      console=Console(stderr=True), transient=True)
            self._task = self._progress.add_task("import", total=7)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if self._progress is None:
            yield
            return
        self._progress.start()
        self._progress.update(self._task, description=name)
        try:
            yield
        finally:
            if not self._told:
                self._progress.advance(self._task)

    def progress(self, share: float) -> None:
        if self._progress is not None:
            self._told = True
            self._progress.update(self._task, completed=7 * min(share, 1.0))

    def summary(self, summary: dict[str, Any]) -> None:
        if self._progress is not None:
            self._progress.stop()

    def rejects(self, rejects: pl.DataFrame) -> None:
        pass
