"""One import run, as the whole-file pipeline and the chunked path both carry it out: its
request, store and summary; how it is recorded (`import_run`), begun (duplicate files),
concluded (rejects and warnings into the summary, the reject limit) and committed (one
transaction, or a preview)."""

from __future__ import annotations

import contextvars
import json
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from contracts.errors import AlreadyImported
from flows.config import open_crm
from flows.faults import checkpoint
from flows.request import ImportRequest, Reporter, TimedReporter
from transforms import report as rp
from transforms.columns import MAX_VALUES
from transforms.duplicates import Suggester
from transforms.plan import Plan
from transforms.runs import earlier_imports
from transforms.sources.table import RawTable
from transforms.store import CrmStore
from transforms.summary import RunSummary, warning_total
from transforms.wording import count

log = logging.getLogger("crm_import")


@dataclass
class Run:
    req: ImportRequest
    run: Callable[..., Any]  # the stage runner: in process, or a Prefect task each
    report: TimedReporter
    summary: RunSummary
    started: datetime
    store: CrmStore | None = None
    sha: str | None = None  # the file's SHA-256 (not for an ERP query)
    settings_json: str = field(default="")
    sheet: RawTable | None = None  # a sheet read to tell whether to chunk it, kept for the read
    suggester: Suggester | None = None  # possible duplicates, across the run's chunks
    # a chunk's new records added to the suggester beside its load, on a connection of
    # their own (a store without a second one: in turn); then the run's scored
    suggesting: tuple[ThreadPoolExecutor, CrmStore] | None = None
    pending: Future[pl.DataFrame | None] | None = None

    @classmethod
    def start(cls, req: ImportRequest, *, run: Callable[..., Any],
              report: Reporter | None) -> Run:
        started = datetime.now(UTC)
        summary = RunSummary(run_id=rp.new_run_id(started), source=req.source,
                             file=str(Path(req.file)), batch_id=req.batch_id)
        return cls(req, run, TimedReporter(report or Reporter(), summary.timings), summary,
                   started, settings_json=json.dumps(req.settings.as_toml_dict()))

    @property
    def run_id(self) -> str:
        return self.summary.run_id

    @property
    def crm(self) -> CrmStore:
        assert self.store is not None, "the CRM is opened first"
        return self.store

    def open(self, on_wait: Callable[[str], None] | None) -> None:
        with self.report.stage("open CRM"):
            self.store = self.run("open-store", open_crm, self.req.db, wait=self.req.wait,
                                  on_wait=on_wait,
                                  note=f"run {self.run_id} importing {Path(self.req.file).name}")

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """A stage that recurs per batch or chunk: its time is added up in `timings`."""
        start = time.perf_counter()
        try:
            with self.report.inner.stage(name):
                yield
        finally:
            timings = self.summary.timings
            timings[name] = round(timings.get(name, 0.0) + time.perf_counter() - start, 3)

    # --- the run record --------------------------------------------------------------------
    def record(self, status: str, *, finished: bool = True) -> None:
        self.summary.status = status
        rp.record_run(self.crm, self.summary.as_json(), settings_json=self.settings_json,
                      sha256=self.sha, started_at=self.started,
                      finished_at=datetime.now(UTC) if finished else None)

    def record_failure(self) -> None:
        if self.store is None:
            return
        try:
            self.record("failed")
        except Exception as exc:  # the run record is bookkeeping; the error is what matters
            log.error("could not record the failed run %s: %s", self.run_id, exc)
            log.debug("could not record the failed run", exc_info=True)

    # --- begin, conclude, commit -----------------------------------------------------------
    def begin(self) -> None:
        """On record as running (or preview); an identical file imported before is said,
        or refused with --once."""
        self.record("preview" if self.req.dry_run else "running", finished=False)
        if self.sha and (before := earlier_imports(self.crm, self.sha, self.run_id)):
            self.summary.duplicate_of = before
            if self.req.once:
                raise AlreadyImported(self.summary.file, before)

    def conclude(self, rejects: pl.DataFrame, warnings: pl.DataFrame,
                 extra: list[dict[str, Any]] | None = None) -> None:
        """The run's rejects and warnings into the summary and the reporter; above
        `[import] max_rejects` nothing is applied (raises)."""
        rejected = rejects["source_row"].n_unique()
        self.summary.rows.rejected = rejected
        self.summary.warnings = rp.warnings_list(warnings) + (extra or [])
        mapping = self.summary.mapping or {}
        if absent := mapping.get("absent"):  # a typo in the mapping?
            self.summary.warnings.append({
                "row": None, "column": None, "code": "mapping_absent",
                "message": "the mapping file names columns this file lacks: "
                           + ", ".join(absent)})
        for field_name, n in (mapping.get("left_out") or {}).items():
            self.summary.warnings.append({
                "row": None, "column": None, "code": "values_left_out",
                "message": f"{count(n, 'value')} of {field_name} left out: a record keeps "
                           f"its first {MAX_VALUES}"})
        self.summary.note_duplicate()
        self.report.rejects(rejects)
        self.report.warnings(warnings)
        log.info("run %s: %s rejected, %s", self.run_id, count(rejected, "row"),
                 count(warning_total(self.summary.warnings), "warning"))
        rp.check_rejects(self.summary.file, rejected, self.summary.rows.read,
                         self.req.settings.import_.max_rejects, self.run_id)

    def commit(self, body: Callable[[], None]) -> None:
        """Run `body` (which applies, unless this is a preview) and close the run record:
        a preview records itself; a run does both in one transaction, all of it or none."""
        if self.req.dry_run:
            body()
            self.record("preview")
            return
        with self.crm.transaction():
            body()
            self.summary.completed()
            self.record("completed")
            checkpoint("commit")

    def suggest(self, plan: Plan, *, more: bool = False, last: bool = False
                ) -> pl.DataFrame | None:
        """Possible duplicates of the companies and persons `plan` creates ([duplicates]
        suggest), counted in the summary; never applied. `more`: a chunk, with more to
        come — its records are kept, and `suggested()` scores the run's at once. `last`:
        the last of those chunks.

        A chunk's records are added in a thread of their own while the chunk is loaded
        (the work waits for the chunk before, never more), and the last one's are scored
        there too: at 1M rows in 4 chunks, 31–36 s a run against 34–42 s in turn (four
        runs each, alternating). They read the CRM on a second connection, which sees it
        as it was before the run."""
        settings = self.req.settings.duplicates
        if not settings.suggest:
            return None
        if self.suggester is None:  # (a whole file: suggested at once, on this connection)
            self.suggester = Suggester(self._reader() if more or last else self.crm,
                                       min_score=settings.min_score,
                                       lookups=self.summary.chunks or 1)
        self._wait_suggesting()
        if not (more or last) or self.suggesting is None:
            with self.stage("suggest duplicates"):
                self.run("suggest", self.suggester.add, plan)
            return None if more else self.suggested()
        work = contextvars.copy_context()  # (a Prefect task's flow run, in the thread too)
        self.pending = self.suggesting[0].submit(work.run, self._beside, plan, last)
        return None

    def _reader(self) -> CrmStore:
        """The store the suggester reads: a second connection if the store has one."""
        try:
            reader = self.crm.cursor()
        except NotImplementedError:
            return self.crm
        self.suggesting = (ThreadPoolExecutor(1, thread_name_prefix="suggest"), reader)
        return reader

    def _beside(self, plan: Plan, last: bool) -> pl.DataFrame | None:
        assert self.suggester is not None
        start = time.perf_counter()
        try:
            self.run("suggest", self.suggester.add, plan)
            return self.run("suggest", self.suggester.scored) if last else None
        finally:
            timings, name = self.summary.timings, "suggest duplicates (beside loading)"
            timings[name] = round(timings.get(name, 0.0) + time.perf_counter() - start, 3)

    def _wait_suggesting(self) -> pl.DataFrame | None:
        """What the thread was doing, done (its error raised here)."""
        pending, self.pending = self.pending, None
        if pending is None:
            return None
        with self.stage("suggest duplicates"):
            return pending.result()

    def suggested(self) -> pl.DataFrame | None:
        """The suggestions of what `suggest` was given; None when suggestions are off."""
        if self.suggester is None:
            return None
        found = self._wait_suggesting()
        if found is None:
            with self.stage("suggest duplicates"):
                found = self.run("suggest", self.suggester.scored)
        counts = dict(found.group_by("entity").agg(pl.col("source_row").n_unique()).iter_rows())
        self.summary.suggestions = {e: int(counts.get(e, 0)) for e in ("company", "person")}
        return found

    def suggested_after_commit(self) -> pl.DataFrame | None:
        """`suggested()` for a run already committed (or a preview recorded), its counts
        then put on the run's record. Suggestions are advice, never applied: an error in
        them leaves the run as it is, with a warning, and suggests nothing."""
        if self.suggester is None:
            return None
        try:
            found = self.suggested()
        except Exception as exc:
            log.error("run %s: possible duplicates could not be suggested: %s", self.run_id, exc)
            log.debug("possible duplicates could not be suggested", exc_info=True)
            self.summary.warnings.append({
                "row": None, "column": None, "code": "suggestions_failed",
                "message": f"possible duplicates could not be suggested: {exc}"})
            found = None
        self.record(self.summary.status)
        return found

    def close(self) -> None:
        if self.suggesting is not None:  # (a run stopped midway: its thread ends first)
            with suppress(BaseException):
                self._wait_suggesting()
            self.suggesting[0].shutdown()
            self.suggesting[1].close()
            self.suggesting = None
        if self.suggester is not None:
            self.suggester.close()
        if self.store is not None:
            self.store.close()
