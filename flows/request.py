"""What an import is asked to do (`ImportRequest`), and how its stages are run and
reported: shared by the whole-file pipeline, the chunked path and the Prefect flows."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import polars as pl

from contracts.settings import ImportSettings
from flows.live import LiveRequest
from transforms.erp import ErpRequest

T = TypeVar("T")


@dataclass(frozen=True)
class ImportRequest:
    file: str
    db: str
    settings: ImportSettings = field(default_factory=ImportSettings)
    source: str = "auto"
    mapping_file: str | None = None
    sheet: str | None = None
    encoding: str | None = None
    exclude_rows: tuple[int, ...] = ()
    dry_run: bool = False
    kind: str = "contacts"  # contacts | products
    price_list: str | None = None  # products: overrides [product] price_list
    once: bool = False  # refuse a file whose identical copy was imported before
    wait: bool = True  # wait for another crm-import holding the CRM (else refuse)
    erp: ErpRequest | None = None  # an ERP import: actors instead of `file`
    batch_id: str | None = None  # one file of a folder import (`crm-import run DIR/`)
    live: LiveRequest | None = None  # a live source (`run google:NAME`): pulled, not read


def run_inline(name: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """The in-process runner: a stage is a plain call."""
    return fn(*args, **kwargs)


class Reporter:
    """What the pipeline tells the outside world. The default says nothing."""

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        yield

    def summary(self, summary: dict[str, Any]) -> None:
        pass

    def rejects(self, rejects: pl.DataFrame) -> None:
        pass

    def warnings(self, warnings: pl.DataFrame) -> None:
        """Every warning of the run (source_row, column, code, reason, …)."""

    def progress(self, share: float) -> None:
        """How far a run whose stages recur (a file in chunks) has come, 0..1."""


class TimedReporter(Reporter):
    """Wraps a reporter and keeps the wall time of every stage in the summary ("timings",
    seconds): what a data engineer reads first when a nightly run got slow."""

    def __init__(self, inner: Reporter, timings: dict[str, float]) -> None:
        self.inner, self.timings = inner, timings

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            with self.inner.stage(name):
                yield
        finally:
            self.timings[name] = round(time.perf_counter() - start, 3)

    def summary(self, summary: dict[str, Any]) -> None:
        self.inner.summary(summary)

    def rejects(self, rejects: pl.DataFrame) -> None:
        self.inner.rejects(rejects)

    def warnings(self, warnings: pl.DataFrame) -> None:
        if hasattr(self.inner, "warnings"):  # (a reporter of an older shape may lack it)
            self.inner.warnings(warnings)

    def progress(self, share: float) -> None:
        if hasattr(self.inner, "progress"):  # (a reporter of an older shape may lack it)
            self.inner.progress(share)
