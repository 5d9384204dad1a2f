"""The contacts import pipeline: extract → map → validate → plan (match) → stage → load.

One pipeline, two runners. `run` wraps each stage: the in-process runner calls it, the
Prefect runner (`flows.prefect_flows`) turns it into a task. `report` receives progress, the
summary and the rejects (a terminal progress bar, or Prefect artifacts). This module does
not import Prefect.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from contracts.canonical import PlanRow
from contracts.errors import AlreadyImported, CrmImportError, NoRows
from flows import chunked
from flows.config import open_crm
from flows.faults import checkpoint
from flows.request import ImportRequest, Reporter, T, TimedReporter, run_inline
from transforms import report as rp
from transforms.apply import apply_plan
from transforms.columns import Mapped, map_actors, map_columns
from transforms.erp import ErpActors, ErpRequest, gone_actors, read_actors
from transforms.plan import Plan, plan_contacts
from transforms.products import (
    ProductPlan,
    apply_products,
    check_products,
    plan_products,
    read_product_snapshot,
)
from transforms.runs import earlier_imports
from transforms.snapshot import read_snapshot
from transforms.sources import RawTable, read_source
from transforms.staging import InputsWriter, write_outcomes
from transforms.store import CrmStore
from transforms.validate import Checked, check_rows

log = logging.getLogger("crm_import")


def _report_gone(summary: dict, store: CrmStore, actors: ErpActors, erp: ErpRequest) -> None:
    """Actors the CRM has from earlier imports of this ERP that the ERP no longer has:
    reported, never deleted. Only an unfiltered read can tell."""
    if erp.where:
        summary["erp"]["gone"] = None
        return
    key = "company_erp_key" if actors.actor.kind == "company" else "person_erp_key"
    gone = gone_actors(store, actors.profile.system, erp.actor_type, actors.actor,
                       actors.canonical[key].drop_nulls())
    summary["erp"]["gone"] = gone
    if gone:
        shown = ", ".join(gone[:10]) + (f" … ({len(gone)} in all)" if len(gone) > 10 else "")
        summary["warnings"].append({
            "row": None, "column": None, "code": "erp_gone",
            "message": f"{len(gone)} {erp.actor_type} imported before are no longer in the "
                       f"ERP; they stay in the CRM: {shown}"})


def load(store: CrmStore, plan: Plan | ProductPlan, *, run_id: str, finish: Callable[[], None]) -> Any:
    """Apply the plan and close the run record in one transaction: all of it or none."""
    checkpoint("load")
    apply = apply_products if isinstance(plan, ProductPlan) else apply_plan
    with store.transaction():
        result = apply(store, plan, run_id=run_id, checkpoint=checkpoint)
        finish()
        checkpoint("commit")
    return result


@dataclass(frozen=True)
class Prepared:
    """What a file gives before the CRM is consulted: read, mapped, validated (and the keys
    normalised). Made where the file is (a Dask worker, or here); planned and loaded here."""
    req: ImportRequest  # (ERP individuals: with if_no_company = without_company)
    raw: RawTable
    actors: ErpActors | None
    mapped: Mapped
    checked: Checked
    timings: dict[str, float]


@dataclass(frozen=True)
class PrepareFailed:
    """A preparation that stopped on bad input, as it travels back from a worker (our error
    classes do not survive pickling with their arguments; their message does)."""
    message: str

    def error(self) -> CrmImportError:
        return CrmImportError(self.message)


def prepare(req: ImportRequest, *, run: Callable[..., Any] = run_inline,
            report: Reporter | None = None, raw: RawTable | None = None) -> Prepared:
    """Extract → map → validate one file (or ERP query): no CRM needed. `raw`: the file,
    already read."""
    timings: dict[str, float] = {}
    report = TimedReporter(report or Reporter(), timings)
    actors: ErpActors | None = None
    if raw is None:
        with report.stage("read file" if req.erp is None else "read ERP"):
            if req.erp is not None:
                actors = run("extract", read_actors, req.erp)
                raw = actors.raw
                if actors.actor.kind == "individual" and "company_name" not in actors.canonical:
                    # individuals come without company unless the profile names one
                    req = replace(req, settings=req.settings.model_copy(update={
                        "person": req.settings.person.model_copy(
                            update={"if_no_company": "without_company"})}))
            else:
                raw = run("extract", read_source, Path(req.file), source=req.source,
                          sheet=req.sheet, encoding=req.encoding)
    if raw.frame.height == 0:
        raise NoRows(req.file, "the file has a header but no rows below it")
    checkpoint("read")
    with report.stage("map columns"):
        if actors is not None:
            mapped = run("map", map_actors, actors, req.exclude_rows)
        else:
            mapped = run("map", map_columns, raw, req.mapping_file, req.exclude_rows, req.kind)
        checkpoint("map")
    with report.stage("validate"):
        if req.kind == "products":
            checked: Checked = run("validate", check_products, mapped.canonical,
                                   headers=mapped.headers)
        else:
            checked = run("validate", check_rows, mapped.canonical, settings=req.settings,
                          headers=mapped.headers)
        checkpoint("validate")
    return Prepared(req, raw, actors, mapped, checked, timings)


def prepare_remote(req: ImportRequest, part: int = 0, parts: int = 1) -> Prepared | PrepareFailed:
    """`prepare` as a task on a worker: bad input comes back as a value.

    With parts > 1, one share of a large file: the file is read and mapped whole (cheap),
    only rows of this share are validated (the costly stage, row by row independent), and
    only the first share sends the raw frame back (`merge_parts` puts them together)."""
    try:
        if parts == 1:
            return prepare(req)

        mine: list[pl.DataFrame] = []

        def share(name: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
            if name == "validate":  # args[0]: the mapped canonical frame
                size = -(-args[0].height // parts)
                mine.append(args[0].slice(part * size, size))
                args = (mine[0], *args[1:])
            return fn(*args, **kwargs)

        done = prepare(req, run=share)
        raw = done.raw if part == 0 else replace(  # (the first share brings the file back)
            done.raw, frame=done.raw.frame.clear(),
            long=done.raw.long.clear() if done.raw.long is not None else None)
        return replace(done, raw=raw, mapped=replace(done.mapped, canonical=mine[0]))
    except CrmImportError as exc:
        return PrepareFailed(str(exc))


def merge_parts(parts: list[Prepared | PrepareFailed]) -> Prepared | PrepareFailed:
    """The shares of one file, as if it had been prepared whole (`prepare_remote`)."""
    if failed := next((p for p in parts if isinstance(p, PrepareFailed)), None):
        return failed
    if len(parts) == 1:
        return parts[0]
    first = parts[0]

    def joined(get: Callable[[Prepared], pl.DataFrame]) -> pl.DataFrame:
        return (pl.concat([get(p) for p in parts], how="vertical_relaxed")
                .sort("source_row", maintain_order=True))  # (shares are in row order)

    mapped = replace(first.mapped, canonical=joined(lambda p: p.mapped.canonical))
    checked = Checked(joined(lambda p: p.checked.rows), joined(lambda p: p.checked.rejects),
                      joined(lambda p: p.checked.warnings))
    timings = {k: max(p.timings.get(k, 0.0) for p in parts) for k in first.timings}
    return replace(first, mapped=mapped, checked=checked, timings=timings)


def import_file(req: ImportRequest, *, run: Callable[..., Any] = run_inline,
                    report: Reporter | None = None,
                    on_wait: Callable[[str], None] | None = None,
                    prepared: Prepared | PrepareFailed | None = None) -> dict[str, Any]:
    """Run one import (contacts or products, by `req.kind`); returns the summary
    (status completed, preview or failed). `prepared`: the file already read, mapped and
    validated elsewhere (a Dask worker)."""
    report = report or Reporter()
    started = datetime.now(UTC)
    run_id = rp.new_run_id(started)
    path = Path(req.file)
    summary = rp.empty_summary(run_id=run_id, source=req.source, file=str(path))
    if req.batch_id:
        summary["batch_id"] = req.batch_id
    summary["timings"] = {}
    report = TimedReporter(report, summary["timings"])
    settings_json = json.dumps(req.settings.as_toml_dict())
    store = None
    sha = None
    inputs: InputsWriter | None = None

    def record(status: str, *, finished: bool = True) -> None:
        summary["status"] = status
        rp.record_run(store, summary, settings_json=settings_json, sha256=sha,
                      started_at=started, finished_at=datetime.now(UTC) if finished else None)

    def record_failure() -> None:
        if store is None:
            return
        try:
            record("failed")
        except Exception:  # the run record is bookkeeping; the error is what matters
            log.exception("could not record the failed run %s", run_id)

    try:
        with report.stage("open CRM"):
            store = run("open-store", open_crm, req.db, wait=req.wait, on_wait=on_wait,
                        note=f"run {run_id} importing {path.name}")
        done = False
        sheet: RawTable | None = None
        if prepared is None and chunked.wants_chunks(req):
            sha = rp.file_sha256(path)
            done = chunked.import_csv(chunked.Context(req, store, summary, run, report, run_id,
                                                      record, sha))
        elif prepared is None and chunked.may_be_large_sheet(req):
            # a sheet is read whole either way; how many rows it has decides the path
            with report.stage("read file"):
                sheet = run("extract", read_source, path, source=req.source, sheet=req.sheet,
                            encoding=req.encoding)
            if chunked.wants_sheet_chunks(req, sheet):
                sha = rp.file_sha256(path)
                chunked.import_sheet(chunked.Context(req, store, summary, run, report, run_id,
                                                     record, sha), sheet)
                done, sheet = True, None
        if not done:
            if isinstance(prepared, PrepareFailed):
                raise prepared.error()
            ready = prepared or prepare(req, run=run, report=report, raw=sheet)
            sheet = None
            summary["timings"].update(ready.timings)
            req, raw, actors, mapped, checked = (ready.req, ready.raw, ready.actors, ready.mapped,
                                                 ready.checked)
            ready = prepared = None  # (the frames are held below, once)
            if actors is not None:
                summary["erp"] = {"system": actors.profile.system, "actor_type": req.erp.actor_type,
                                  "profile": req.erp.profile or "generic",
                                  "where": dict(req.erp.where)}
                if actors.missing:
                    summary["erp"]["missing_columns"] = actors.missing
            summary["source"] = raw.source
            summary["rows"]["read"] = raw.frame.height
            for key in ("sheet", "encoding", "format"):
                if getattr(raw, key):
                    summary[key] = getattr(raw, key)
            sha = rp.file_sha256(path) if req.erp is None else None
            record("preview" if req.dry_run else "running", finished=False)
            if sha and (before := earlier_imports(store, sha, run_id)):
                summary["duplicate_of"] = before
                if req.once:
                    raise AlreadyImported(str(path), before)
            log.info("run %s: %d rows read", run_id, raw.frame.height)
            summary["mapping"] = {"columns": {mapped.headers[c]: c for c in mapped.headers
                                              if mapped.headers[c] in raw.headers},
                                  "unmapped": mapped.unmapped}
            if req.exclude_rows:
                summary["rows"]["excluded"] = raw.frame.filter(
                    pl.col("source_row").is_in(list(req.exclude_rows))).height
            # what came in is staged on a connection of its own while the plan is made
            inputs = InputsWriter(store, run_id=run_id, raw=raw.frame, canonical=mapped.canonical)
            with report.stage("match and plan"):
                if req.kind == "products":
                    price_list = req.price_list or req.settings.product.price_list
                    summary["price_list"] = price_list
                    current = run("read CRM", read_product_snapshot, store,
                                  settings=req.settings, price_list=price_list)
                    plan = run("plan", plan_products, checked.rows, current,
                               settings=req.settings, headers=mapped.headers,
                               price_list=price_list)
                else:
                    erp_system = actors.profile.system if actors else None
                    snapshot = run("read CRM", read_snapshot, store, checked.rows, req.settings,
                                   erp_system=erp_system)
                    plan = run("plan", plan_contacts, checked.rows, snapshot,
                               settings=req.settings, headers=mapped.headers,
                               has_company=mapped.has_company, has_person=mapped.has_person,
                               erp_system=erp_system)
                    del snapshot
                checkpoint("plan")
            PlanRow.validate(plan.row_plan)  # a plan outside the contract is a bug: stop here
            read_issues = ([raw.row_issues.with_columns(pl.lit(None, pl.String).alias("field"))
                            .select(checked.rejects.columns)]
                           if raw.row_issues is not None else [])
            rejects = pl.concat([*read_issues, checked.rejects, plan.rejects],
                                how="vertical_relaxed").sort("source_row")
            warnings = pl.concat([checked.warnings, plan.warnings], how="vertical_relaxed")
            rejected_rows = rejects["source_row"].n_unique()
            summary["rows"]["rejected"] = rejected_rows
            for entity, ep in plan.entities.items():
                summary[entity] = ep.counts()
            summary["warnings"] = rp.warnings_list(warnings)
            if actors is not None:
                _report_gone(summary, store, actors, req.erp)
            rp.note_duplicate(summary)
            with report.stage("write staging"):
                run("stage", write_outcomes, store, run_id=run_id, rejects=rejects,
                    warnings=warnings, plan=plan)
                waiting, inputs = inputs, None
                waiting.wait()
                summary["timings"]["staging inputs (beside planning)"] = waiting.seconds
                checkpoint("stage")
            # the file's frames are staged: let them go before the load builds its own
            raw = mapped = checked = actors = None
            report.rejects(rejects)
            log.info("run %s: %d rows rejected, %d warnings", run_id, rejected_rows, warnings.height)

            rp.check_rejects(str(path), rejected_rows, summary["rows"]["read"],
                             req.settings.import_.max_rejects)

            if req.dry_run:
                record("preview")
            else:
                summary["selections"] = {"new": f"{run_id}-new", "updated": f"{run_id}-updated"}
                summary["status"] = "completed"
                with report.stage("load"):
                    run("load", load, store, plan, run_id=run_id,
                        finish=lambda: record("completed"))
        log.info("run %s: %s", run_id, summary["status"])
    except CrmImportError as exc:
        summary["status"] = "failed"
        summary["selections"] = {"new": None, "updated": None}
        summary["errors"].append(str(exc))
        # nothing was applied: the counts say so; what the plan held is kept apart
        planned = {e: summary[e] for e in rp.ENTITIES if any(summary[e].values())}
        if planned:
            summary["planned"] = planned
            for e in planned:
                summary[e] = dict.fromkeys(rp.OUTCOMES, 0)
        record_failure()
    except BaseException as exc:  # a bug or a kill: the transaction rolled back; say so on record
        summary["status"] = "failed"
        summary["errors"].append(f"internal error: {type(exc).__name__}: {exc}")
        record_failure()
        raise
    finally:
        if inputs is not None:  # (a failed plan: the staging thread ends before the store)
            with suppress(BaseException):
                inputs.wait()
        if store is not None:
            store.close()
    report.summary(summary)
    return summary


import_contacts = import_file  # the contacts flow's name for the same pipeline
