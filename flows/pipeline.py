"""The contacts import pipeline: extract → map → validate → plan (match) → stage → load.

One pipeline, two runners. `run` wraps each stage: the in-process runner calls it, the
Prefect runner (`flows.prefect_flows`) turns it into a task. `report` receives progress, the
summary and the rejects (a terminal progress bar, or Prefect artifacts). This module does
not import Prefect.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import polars as pl

from contracts.canonical import PlanRow
from contracts.errors import CrmImportError, NoRows, StoreUnavailable
from flows import chunked
from flows.config import max_unpacked_mb
from flows.faults import checkpoint
from flows.request import ImportRequest, Reporter, T, TimedReporter, run_inline
from flows.run import Run
from transforms import report as rp
from transforms.apply import apply_plan
from transforms.columns import Mapped, map_actors, map_columns, mapping_summary
from transforms.erp import ErpActors, ErpRequest, gone_actors, read_actors
from transforms.plan import Plan, plan_contacts
from transforms.products import (
    ProductPlan,
    apply_products,
    check_products,
    plan_products,
    read_product_snapshot,
)
from transforms.snapshot import read_snapshot
from transforms.sources import RawTable, read_source
from transforms.staging import InputsWriter, created_rows, record_new_ids, write_outcomes
from transforms.store import CrmStore
from transforms.summary import RunSummary
from transforms.validate import ISSUE_SCHEMA, WARNING_SCHEMA, Checked, check_rows
from transforms.wording import count

log = logging.getLogger("crm_import")


def _report_gone(summary: RunSummary, store: CrmStore, actors: ErpActors,
                 erp: ErpRequest | None) -> list[dict[str, Any]]:
    """Actors the CRM has from earlier imports of this ERP that the ERP no longer has:
    reported (a warning, returned), never deleted. Only an unfiltered read can tell."""
    assert erp is not None and summary.erp is not None
    if erp.where:
        summary.erp["gone"] = None
        return []
    key = "company_erp_key" if actors.actor.kind == "company" else "person_erp_key"
    gone = gone_actors(store, actors.profile.system, erp.actor_type, actors.actor,
                       actors.canonical[key].drop_nulls())
    summary.erp["gone"] = gone
    if not gone:
        return []
    shown = ", ".join(gone[:10]) + (f" … ({len(gone)} in all)" if len(gone) > 10 else "")
    return [{"row": None, "column": None, "code": "erp_gone",
             "message": f"{len(gone)} {erp.actor_type} imported before are no longer in the "
                        f"ERP; they stay in the CRM: {shown}"}]


def load(store: CrmStore, plan: Plan | ProductPlan, *, run_id: str) -> Any:
    """Apply the plan (inside the run's transaction: `Run.commit`)."""
    checkpoint("load")
    if isinstance(plan, ProductPlan):
        return apply_products(store, plan, run_id=run_id, checkpoint=checkpoint)
    return apply_plan(store, plan, run_id=run_id, checkpoint=checkpoint)


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
                          max_unpacked_mb=max_unpacked_mb(),
                          sheet=req.sheet, encoding=req.encoding)
    if raw.frame.height == 0:
        raise NoRows(req.file, "the file has a header but no rows below it")
    checkpoint("read")
    with report.stage("map columns"):
        if actors is not None:
            mapped = run("map", map_actors, actors, req.exclude_rows)
        else:
            mapped = run("map", map_columns, raw, req.mapping_file, req.exclude_rows, req.kind,
                             req.settings)
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
    done = [p for p in parts if isinstance(p, Prepared)]  # (all of them, now)
    if len(done) == 1:
        return done[0]
    first = done[0]

    def joined(get: Callable[[Prepared], pl.DataFrame]) -> pl.DataFrame:
        return (pl.concat([get(p) for p in done], how="vertical_relaxed")
                .sort("source_row", maintain_order=True))  # (shares are in row order)

    mapped = replace(first.mapped, canonical=joined(lambda p: p.mapped.canonical))
    checked = Checked(joined(lambda p: p.checked.rows), joined(lambda p: p.checked.rejects),
                      joined(lambda p: p.checked.warnings))
    timings = {k: max(p.timings.get(k, 0.0) for p in done) for k in first.timings}
    return replace(first, mapped=mapped, checked=checked, timings=timings)


def import_file(req: ImportRequest, *, run: Callable[..., Any] = run_inline,
                report: Reporter | None = None,
                on_wait: Callable[[str], None] | None = None,
                prepared: Prepared | PrepareFailed | None = None) -> dict[str, Any]:
    """Run one import (contacts or products, by `req.kind`); returns the summary
    (status completed, preview or failed). `prepared`: the file already read, mapped and
    validated elsewhere (a Dask worker)."""
    r = Run.start(req, run=run, report=report)
    try:
        r.open(on_wait)
        if r.req.live is not None and prepared is None:
            _import_pulled(r)
        elif not (prepared is None and _in_chunks(r)):
            _import_whole(r, prepared)
        log.info("run %s: %s", r.run_id, r.summary.status)
    except CrmImportError as exc:
        r.summary.failed(str(exc))
        r.record_failure()
    except BaseException as exc:  # a bug or a kill: the transaction rolled back; say so on record
        r.summary.failed(f"internal error: {type(exc).__name__}: {exc}")  # (counts: 0 applied)
        r.record_failure()
        raise
    finally:
        r.close()
    summary = r.summary.as_json()
    r.report.summary(summary)
    return summary


def refused(req: ImportRequest) -> dict[str, Any] | None:
    """With --no-wait, a CRM another import holds: the failed summary at once, before a
    Prefect flow is started for the run (None: the CRM is free, or the request waits)."""
    if req.wait:
        return None
    r = Run.start(req, run=run_inline, report=None)
    try:
        r.open(None)
    except StoreUnavailable as exc:
        r.summary.failed(str(exc))
        return r.summary.as_json()
    finally:
        r.close()
    return None


def _in_chunks(r: Run) -> bool:
    """A large CSV or sheet, imported in chunks (`flows.chunked`); False: imported whole
    (a sheet read to tell is kept for that, in `r.sheet`)."""
    req, path = r.req, Path(r.req.file)
    if chunked.wants_chunks(req):
        r.sha = rp.file_sha256(path)
        return chunked.import_csv(r)
    if chunked.may_be_large_sheet(req):
        # a sheet is read whole either way; how many rows it has decides the path
        with r.report.stage("read file"):
            sheet = r.run("extract", read_source, path, source=req.source, sheet=req.sheet,
                          max_unpacked_mb=max_unpacked_mb(),
                          encoding=req.encoding)
        if chunked.wants_sheet_chunks(req, sheet):
            r.sha = rp.file_sha256(path)
            chunked.import_sheet(r, sheet)
            return True
        r.sheet = sheet
    return False


def _import_pulled(r: Run) -> None:
    """A live source: pull what changed since the last sync (all of it, the first time),
    import it as a file, and keep the new sync state in the run's transaction."""
    from flows.live.sync import deleted_warning, pull, pulled_table, save_states

    live = r.req.live
    assert live is not None
    with r.report.stage("pull"):
        pulled = r.run("pull", pull, live, r.crm)
        checkpoint("pull")
    r.summary.sync = pulled.sync_summary()
    log.info("run %s: %s pulled from the %s account (%s)", r.run_id,  # (no name: it may
             count(len(pulled.records), "contact"), live.provider, pulled.mode)  # be an e-mail)
    notes = [*pulled.warnings, *deleted_warning(r.crm, live, pulled)]

    def keep_state() -> None:
        save_states(r.crm, live, pulled, r.run_id)

    if not pulled.records:  # nothing changed: a completed run of no rows
        def conclude() -> None:
            r.conclude(pl.DataFrame(schema=ISSUE_SCHEMA), pl.DataFrame(schema=WARNING_SCHEMA),
                       notes)
            if not r.req.dry_run:
                keep_state()

        r.summary.source = live.provider
        r.begin()
        r.commit(conclude)
        return
    _import_whole(r, None, raw=pulled_table(live, pulled), extra=notes,
                  after_load=keep_state)


def _import_whole(r: Run, prepared: Prepared | PrepareFailed | None, *,
                  raw: RawTable | None = None, extra: list[dict[str, Any]] | None = None,
                  after_load: Callable[[], None] | None = None) -> None:
    """Read (unless prepared elsewhere, or `raw` given), plan and load a file whole.
    `extra`: warnings of the run beside the rows'; `after_load`: more to do in the run's
    transaction (not in a preview)."""
    if isinstance(prepared, PrepareFailed):
        raise prepared.error()
    sheet, r.sheet = raw or r.sheet, None
    ready = prepared or prepare(r.req, run=r.run, report=r.report, raw=sheet)
    del sheet, prepared
    r.summary.timings.update(ready.timings)
    r.req = ready.req  # (ERP individuals: without company)
    _describe(r.summary, ready)
    r.sha = (rp.file_sha256(Path(r.req.file)) if r.req.erp is None and r.req.live is None
             else None)
    r.begin()
    log.info("run %s: %s read", r.run_id, count(ready.raw.frame.height, "row"))
    # what came in is staged on a connection of its own while the plan is made
    inputs: InputsWriter | None = InputsWriter(r.crm, run_id=r.run_id, raw=ready.raw.frame,
                                               canonical=ready.mapped.canonical,
                                               records=ready.raw.records)
    try:
        with r.report.stage("match and plan"):
            plan = _plan(r, ready)
            checkpoint("plan")
        PlanRow.validate(plan.row_plan)  # a plan outside the contract is a bug: stop here
        suggested = r.suggest(plan) if isinstance(plan, Plan) else None
        rejects, warnings = _issues(ready, plan)
        for entity, ep in plan.entities.items():
            r.summary.count(entity, ep.counts())
        gone = _report_gone(r.summary, r.crm, ready.actors, r.req.erp) if ready.actors else []
        with r.report.stage("write staging"):
            r.run("stage", write_outcomes, r.crm, run_id=r.run_id, rejects=rejects,
                  warnings=warnings, plan=plan)
            waiting, inputs = inputs, None
            assert waiting is not None
            waiting.wait()
            r.summary.timings["staging inputs (beside planning)"] = waiting.seconds
            checkpoint("stage")
    finally:
        if inputs is not None:  # (a failed plan: the staging thread ends before the store)
            with suppress(BaseException):
                inputs.wait()
    del ready  # the file's frames are staged: let them go before the load builds its own

    created: list[pl.DataFrame] = []

    def conclude_and_load() -> None:
        r.conclude(rejects, warnings, gone + (extra or []))
        if not r.req.dry_run:
            with r.report.stage("load"):
                loaded = r.run("load", load, r.crm, plan, run_id=r.run_id)
                created.append(created_rows(plan, loaded.new_of_group))
            if after_load is not None:
                after_load()

    r.commit(conclude_and_load)
    with r.stage("write staging"):  # (after the commit: the ids of what was made)
        record_new_ids(r.crm, run_id=r.run_id, created=created, suggestions=suggested)


def _describe(summary: RunSummary, ready: Prepared) -> None:
    """What the summary says of the file before planning: source, rows, mapping."""
    req, raw, actors, mapped = ready.req, ready.raw, ready.actors, ready.mapped
    if actors is not None and req.erp is not None:
        summary.erp = {"system": actors.profile.system, "actor_type": req.erp.actor_type,
                       "profile": req.erp.profile or "generic", "where": dict(req.erp.where)}
        if actors.missing:
            summary.erp["missing_columns"] = actors.missing
    summary.source = raw.source
    summary.rows.read = raw.frame.height
    summary.sheet, summary.encoding, summary.format = (raw.sheet or None, raw.encoding or None,
                                                       raw.format or None)
    summary.mapping = mapping_summary(mapped, raw.headers)
    if req.exclude_rows:
        summary.rows.excluded = raw.frame.filter(
            pl.col("source_row").is_in(list(req.exclude_rows))).height


def _plan(r: Run, ready: Prepared) -> Plan | ProductPlan:
    """Read the part of the CRM the rows reach, then plan against it (pure)."""
    req, rows, headers = r.req, ready.checked.rows, ready.mapped.headers
    if req.kind == "products":
        price_list = req.price_list or req.settings.product.price_list
        r.summary.price_list = price_list
        current = r.run("read CRM", read_product_snapshot, r.crm, settings=req.settings,
                        price_list=price_list)
        return r.run("plan", plan_products, rows, current, settings=req.settings,
                     headers=headers, price_list=price_list)
    erp_system = ready.actors.profile.system if ready.actors else None
    snapshot = r.run("read CRM", read_snapshot, r.crm, rows, req.settings, erp_system=erp_system)
    return r.run("plan", plan_contacts, rows, snapshot, settings=req.settings, headers=headers,
                 has_company=ready.mapped.has_company, has_person=ready.mapped.has_person,
                 erp_system=erp_system)


def _issues(ready: Prepared, plan: Plan | ProductPlan) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rejects, warnings) of the run: the reader's, the validation's and the plan's."""
    raw, checked = ready.raw, ready.checked
    read_issues = ([raw.row_issues.with_columns(pl.lit(None, pl.String).alias("field"))
                    .select(checked.rejects.columns)]
                   if raw.row_issues is not None else [])
    rejects = pl.concat([*read_issues, checked.rejects, plan.rejects],
                        how="vertical_relaxed").sort("source_row")
    return rejects, pl.concat([checked.warnings, plan.warnings], how="vertical_relaxed")


import_contacts = import_file  # the contacts flow's name for the same pipeline
