"""Prefect flow `import-contacts`: the same pipeline, each stage a task, with artifacts.

Used when PREFECT_API_URL is set (the CLI) or by deployments. The stages are the functions
of `flows.pipeline`; this module only wraps them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, cast
from uuid import UUID

import polars as pl
from prefect import Flow, State, flow, get_run_logger, tags, task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NO_CACHE
from prefect.deployments.runner import RunnerDeployment
from prefect.runtime import flow_run
from prefect.states import Completed, Failed

from contracts.settings import ImportSettings
from flows.batch import folder_files, outside_links
from flows.pipeline import ImportRequest, Reporter, import_contacts
from transforms.store.urls import hide_password, reveal_password
from transforms.summary import warning_total
from transforms.wording import count

STAGES = ("open CRM", "read file", "map columns", "validate", "match and plan",
          "write staging", "load")
IO_STAGES = {"extract"}  # retried: a file share or server may hiccup; the rest is pure
# task runs named by their stage, as ops people read them (no generated suffix)
TASK_NAMES = {"extract": "read", "open-store": "open", "read CRM": "read-crm"}


def run_as_task(name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """The Prefect runner: each stage a task (frames in and out, so nothing is cached)."""
    wrapped = task(name=name, task_run_name=TASK_NAMES.get(name, name), cache_policy=NO_CACHE,
                   retries=2 if name in IO_STAGES else 0, retry_delay_seconds=2)(fn)
    return wrapped(*args, **kwargs)


class ArtifactReporter(Reporter):
    """Progress, summary and rejects as artifacts on the flow run's page."""

    def __init__(self) -> None:
        self.warning_codes: dict[str, int] = {}
        self.done = 0
        self.told = False  # a chunked run says how far it is itself
        self.progress_id = cast(UUID, create_progress_artifact(
            progress=0.0, key="import-progress", description="stages of this import"))

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        get_run_logger().info("stage: %s", name)
        yield
        self.done += 1
        if not self.told:
            update_progress_artifact(self.progress_id,
                                     progress=min(100.0, 100.0 * self.done / len(STAGES)))

    def progress(self, share: float) -> None:
        self.told = True
        update_progress_artifact(self.progress_id, progress=round(100.0 * min(share, 1.0), 1))

    def summary(self, summary: dict[str, Any]) -> None:
        create_markdown_artifact(markdown=summary_markdown(summary, self.warning_codes),
                                 key="import-summary",
                                 description=f"run {summary['run_id']}: {summary['status']}")
        for entity in ("company", "person"):
            get_run_logger().info("%s: %s", entity, summary[entity])

    def rejects(self, rejects: pl.DataFrame) -> None:
        table = rejects.select(pl.col("source_row").alias("row"), "column", "reason").head(1000)
        create_table_artifact(table=table.to_dicts(), key="import-rejects",
                              description=f"{rejects['source_row'].n_unique()} rejected rows")

    def warnings(self, warnings: pl.DataFrame) -> None:
        """The `import-warnings` table (no cell values: personal data stays off the server)
        and the counts per code the summary artifact shows."""
        self.warning_codes = dict(warnings.group_by("code").len().sort("code").iter_rows())
        table = warnings.sort("source_row", "column").select(
            pl.col("source_row").alias("row"), "column", "code", "reason").head(1000)
        create_table_artifact(table=table.to_dicts(), key="import-warnings",
                              description=f"{count(warnings.height, 'warning')}"
                                          + (" (the first 1,000)" if warnings.height > 1000
                                             else ""))


def summary_markdown(s: dict[str, Any], warning_codes: dict[str, int] | None = None) -> str:
    """Counts per entity and outcome, warnings per code, the slowest stages and what to run
    next; no links, no cell values."""
    lines = [f"# Import {s['run_id']}: {s['status']}", "",
             f"- source: {s['source']}, file: `{Path(s['file']).name}`",
             f"- rows read: {s['rows']['read']}, rejected: {s['rows']['rejected']}", "",
             "| entity | new | updated | unchanged | skipped | ambiguous |",
             "|---|---|---|---|---|---|"]
    for e in ("company", "person", "product"):
        c = s[e]
        lines.append(f"| {e} | {c['new']} | {c['updated']} | {c['unchanged']} | "
                     f"{c['skipped']} | {c['ambiguous']} |")
    sel = s["selections"]
    if sel.get("new"):
        lines += ["", f"- selections: new `{sel['new']}`, updated `{sel['updated']}`"]
    if s.get("chunks"):
        lines += ["", f"- imported in {s['chunks']} chunks"]
    if found := s.get("suggestions"):
        lines += ["", f"- possible duplicates of new records: {found['company']} companies, "
                      f"{found['person']} persons (never applied; `crm-import duplicates "
                      f"--run {s['run_id']}`)"]
    if sync := s.get("sync"):
        lines += ["", f"- pulled ({sync['mode']}): {sync['pulled']}, deleted in the account: "
                      f"{sync['deleted']}"]
    codes = dict(warning_codes or {})
    for w in s["warnings"]:  # the run's own (no row): a duplicate file, ERP actors gone …
        if w.get("row") is None and w.get("code") not in ("more", "no_match_key"):
            codes[w["code"]] = codes.get(w["code"], 0) + 1
    if codes:
        lines += ["", f"## Warnings: {sum(codes.values())}", "", "| code | count |", "|---|---|",
                  *[f"| {code} | {n} |" for code, n in sorted(codes.items())]]
    slowest = sorted(s.get("timings", {}).items(), key=lambda kv: -kv[1])[:3]
    if slowest:
        lines += ["", "## Slowest stages", *[f"- {name}: {t:.2f} s" for name, t in slowest]]
    if s["errors"]:
        lines += ["", "## Errors", *[f"- {e}" for e in s["errors"]]]
    lines += ["", "## Next", "", "```"]
    if codes:
        lines.append(f"crm-import show {s['run_id']} --warnings")
    if s["rows"]["rejected"]:
        lines.append(f"crm-import show {s['run_id']} --rejects -o fix.xlsx")
    if s["status"] == "completed":
        lines.append(f"crm-import undo {s['run_id']}")
    lines.append("```")
    return "\n".join(lines)


def needs_a_look(s: dict[str, Any]) -> tuple[str, list[str]]:
    """A finished run's state message and the tags that let the runs list be filtered:
    `completed: 12 warnings, 3 rejected` (plain `completed` when there is nothing)."""
    said, tags = [], []
    if (n := warning_total(s["warnings"])):
        said.append(count(n, "warning"))
        tags.append("warnings")
    if s["rows"]["rejected"]:
        said.append(f"{s['rows']['rejected']} rejected")
        tags.append("rejects")
    return s["status"] + (": " + ", ".join(said) if said else ""), tags


def _tag_flow_run(tags: list[str]) -> None:
    """Add tags to the flow run this runs in (known only once the import is done)."""
    from prefect.client.orchestration import get_client

    run_id = flow_run.get_id()
    if not tags or run_id is None:
        return
    with get_client(sync_client=True) as client:
        current = client.read_flow_run(UUID(str(run_id))).tags
        client.update_flow_run(UUID(str(run_id)), tags=sorted({*current, *tags}))


def _erp_run_name() -> str:
    p = flow_run.parameters
    return f"erp {p.get('actor_type', '?')} · {p.get('profile') or 'generic'}"


def _run_name() -> str:
    p = flow_run.parameters
    path = Path(p.get("file", "?"))
    source = p.get("source", "auto")
    if source == "auto":
        from contracts.errors import SourceUnreadable
        from transforms.sources import detect_source

        with suppress(SourceUnreadable):
            source = detect_source(path)
    return f"{source} · {path.name}"


def _run_import(req: ImportRequest):
    """The body of both import flows: the pipeline with tasks and artifacts; its state."""
    summary = import_contacts(req, run=run_as_task, report=ArtifactReporter())
    message, tags = needs_a_look(summary)
    _tag_flow_run(tags)
    if summary["status"] == "failed":
        return Failed(message="; ".join(summary["errors"]) or "import failed", data=summary)
    return Completed(message=message, data=summary)


def _params(req: ImportRequest, **extra: Any) -> dict[str, Any]:
    """A file request as flow parameters (the password hidden: the server records them)."""
    return dict(file=req.file, db=hide_password(req.db), settings=req.settings,
                source=req.source, mapping_file=req.mapping_file, sheet=req.sheet,
                encoding=req.encoding, exclude_rows=list(req.exclude_rows), dry_run=req.dry_run,
                once=req.once, wait=req.wait, **extra)


def _request(*, db: str, settings: ImportSettings | None,
             exclude_rows: list[int] | None = None, **params: Any) -> ImportRequest:
    """Flow parameters (`_params`) as a request again, the password revealed from its
    source."""
    return ImportRequest(db=reveal_password(db), settings=settings or ImportSettings(),
                         exclude_rows=tuple(exclude_rows or ()), **params)


@flow(name="import-contacts", flow_run_name=_run_name, log_prints=False)
def import_contacts_flow(file: str, db: str, settings: ImportSettings | None = None,
                         source: str = "auto", mapping_file: str | None = None,
                         sheet: str | None = None, encoding: str | None = None,
                         exclude_rows: list[int] | None = None, dry_run: bool = False,
                         once: bool = False, wait: bool = True):
    """Import companies and persons from a spreadsheet or CSV into the CRM."""
    return _run_import(_request(**locals()))  # (locals: exactly the flow's parameters)


@flow(name="import-products", flow_run_name=_run_name)
def import_products_flow(file: str, db: str, settings: ImportSettings | None = None,
                         price_list: str | None = None, source: str = "auto",
                         mapping_file: str | None = None, sheet: str | None = None,
                         encoding: str | None = None, exclude_rows: list[int] | None = None,
                         dry_run: bool = False, once: bool = False, wait: bool = True):
    """Import products from a spreadsheet or CSV into a price list."""
    return _run_import(_request(kind="products", **locals()))


@flow(name="import-erp-actors", flow_run_name=_erp_run_name)
def import_erp_actors_flow(connection: str, actor_type: str, db: str,
                           settings: ImportSettings | None = None, profile: str | None = None,
                           where: dict[str, str] | None = None, dry_run: bool = False,
                           wait: bool = True):
    """Import customers, suppliers or individuals from an ERP through a profile."""
    from transforms.erp import ErpRequest, safe_connection

    connection = reveal_password(connection)
    erp = ErpRequest(connection, actor_type, profile, tuple((where or {}).items()))
    return _run_import(ImportRequest(file=safe_connection(connection), db=reveal_password(db),
                                     settings=settings or ImportSettings(), source="erp",
                                     erp=erp, dry_run=dry_run, wait=wait))


def _live_run_name() -> str:
    p = flow_run.parameters
    return f"{p.get('provider', '?')} · {p.get('account', '?')}"


@flow(name="sync-contacts", flow_run_name=_live_run_name)
def sync_contacts_flow(provider: str, account: str, db: str,
                       settings: ImportSettings | None = None, other_contacts: bool = False,
                       as_user: str | None = None, folder: str | None = None,
                       user: str | None = None, dry_run: bool = False, wait: bool = True):
    """Pull a Google or Microsoft account's contacts (what changed since the last sync) and
    import them. The account's tokens stay in the token store of the machine that runs it."""
    from flows.live import LiveRequest

    live = LiveRequest(provider, account, other_contacts, as_user, folder, user)
    return _run_import(ImportRequest(file=live.target, db=reveal_password(db),
                                     settings=settings or ImportSettings(), source=provider,
                                     live=live, dry_run=dry_run, wait=wait))


def _live_params(req: ImportRequest) -> dict[str, Any]:
    assert req.live is not None
    live = req.live
    return dict(provider=live.provider, account=live.account, db=hide_password(req.db),
                settings=req.settings, other_contacts=live.other_contacts,
                as_user=live.as_user, folder=live.folder, user=live.user,
                dry_run=req.dry_run, wait=req.wait)


def run_with_prefect(req: ImportRequest) -> dict[str, Any]:
    """Run the flow for a CLI request and hand back its summary."""
    if req.live is not None:
        with tags("sync", req.live.provider, *(["dry-run"] if req.dry_run else [])):
            return _result(sync_contacts_flow, **_live_params(req))
    if req.erp is not None:
        # (passwords stay out of the parameters the Prefect server records)
        params = dict(connection=hide_password(req.erp.connection),
                      actor_type=req.erp.actor_type, db=hide_password(req.db),
                      settings=req.settings, profile=req.erp.profile,
                      where=dict(req.erp.where), dry_run=req.dry_run, wait=req.wait)
        with tags("erp", req.erp.actor_type, *(["dry-run"] if req.dry_run else [])):
            return _result(import_erp_actors_flow, **params)
    params = _params(req)
    flow_fn: Flow[..., Any] = import_contacts_flow
    if req.kind == "products":
        flow_fn, params["price_list"] = import_products_flow, req.price_list
    source = req.source
    if source == "auto":  # tag what the file is, as the run name does
        from contracts.errors import SourceUnreadable
        from transforms.sources import detect_source

        with suppress(SourceUnreadable):
            source = detect_source(Path(req.file))
    labels = [req.kind, source] + (["dry-run"] if req.dry_run else [])
    with tags(*labels):
        return _result(flow_fn, **params)


def _result(flow_fn: Flow[..., Any], **params: Any) -> Any:
    """Run a flow here and hand back what it returned, failed or not (a sync call: its
    state, never an awaitable)."""
    state = cast(State, flow_fn(**params, return_state=True))
    return state.result(raise_on_failure=False)


@flow(name="undo-run", flow_run_name="undo · {run_id}")
def undo_flow(run_id: str, db: str, force: bool = False, dry_run: bool = False):
    """Undo an import run from its change log. Its state says what needs a look
    (`partly-undone: 2 conflicts`), and such a run is tagged `conflicts`."""
    from flows.config import open_crm
    from transforms.undo import undo_run

    with open_crm(reveal_password(db)) as store:
        result = task(name="undo", task_run_name="undo", cache_policy=NO_CACHE)(undo_run)(
            store, run_id, force=force, dry_run=dry_run).as_dict()
    get_run_logger().info("undo %s: %s", run_id, result["status"])
    create_markdown_artifact(markdown=f"# Undo {run_id}: {result['status']}\n\n{result['message']}",
                             key="undo-summary")
    conflicts = len(result["conflicts"])
    _tag_flow_run(["conflicts"] if conflicts else [])
    return Completed(message=result["status"] + (f": {count(conflicts, 'conflict')}"
                                                 if conflicts else ""), data=result)


def undo_with_prefect(run_id: str, db: str, *, force: bool, dry_run: bool) -> dict[str, Any]:
    """The undo flow run here, for the CLI: its result."""
    return cast(dict[str, Any], _result(undo_flow, run_id=run_id, db=db, force=force,
                                        dry_run=dry_run))


# --- deployments: a drop folder, and flows on demand ---------------------------------------

@flow(name="import-folder", flow_run_name="folder · {folder}")
def import_folder_flow(folder: str, db: str, batch_id: str | None = None,
                       settings: ImportSettings | None = None, source: str = "auto",
                       mapping_file: str | None = None, dry_run: bool = False,
                       sheet: str | None = None, encoding: str | None = None,
                       exclude_rows: list[int] | None = None, once: bool = False,
                       wait: bool = True, chunks: int = 1) -> list[dict]:
    """Import every file of a folder: each prepared as a task on the flow's task runner
    (Dask workers, with `--runner dask`; `chunks` > 1: each file as that many tasks, each
    validating a share of its rows), then planned and loaded here, one run per file."""
    from flows.batch import file_requests, import_each
    from flows.pipeline import merge_parts, prepare_remote

    req = _request(file=folder, db=db, settings=settings, source=source,
                   mapping_file=mapping_file, dry_run=dry_run, sheet=sheet, encoding=encoding,
                   exclude_rows=exclude_rows, once=once, wait=wait)
    requests = file_requests(req, Path(folder), batch_id)
    prepare = task(name="prepare", cache_policy=NO_CACHE,
                   task_run_name="prepare · {req.file} · {part}/{parts}")(prepare_remote)
    futures = [[prepare.submit(r, part, chunks) for part in range(chunks)] for r in requests]
    summaries = import_each(requests, run=run_as_task, report=ArtifactReporter,
                            ready=lambda i: merge_parts([f.result() for f in futures[i]]))
    get_run_logger().info("batch %s: %d files", batch_id, len(summaries))
    return summaries


def task_runner_for(runner: str, workers: int | None = None):
    """`local` → threads in this process; `dask` → a Dask LocalCluster of `workers`
    processes; `dask://HOST:PORT` → an existing Dask scheduler."""
    from prefect.task_runners import ThreadPoolTaskRunner

    if runner == "local":
        return ThreadPoolTaskRunner(max_workers=workers)
    from prefect_dask import DaskTaskRunner

    if runner.startswith("dask://"):
        return DaskTaskRunner(address="tcp://" + runner.removeprefix("dask://"))
    return DaskTaskRunner(cluster_kwargs={"n_workers": workers or 2, "threads_per_worker": 1,
                                          "processes": True, "dashboard_address": None})


def run_folder_with_prefect(req: ImportRequest, folder: str, *, batch_id: str | None, runner: str,
                            workers: int | None = None, chunks: int = 1) -> list[dict]:
    flow_fn = import_folder_flow.with_options(task_runner=task_runner_for(runner, workers))
    with tags("folder", runner.split(":")[0], *(["dry-run"] if req.dry_run else [])):
        params = _params(req, batch_id=batch_id, chunks=chunks)
        return flow_fn(folder=folder, **{k: v for k, v in params.items() if k != "file"})


def _settings_for(file: Path) -> ImportSettings:
    """The settings beside a dropped file: `<name>.toml`, else the inbox's `settings.toml`,
    else the defaults."""
    from contracts.settings import load_settings

    for candidate in (file.with_suffix(".toml"), file.parent / "settings.toml"):
        if candidate.is_file():
            return load_settings(candidate)
    return ImportSettings()


@flow(name="drop-folder-import", flow_run_name="drop folder · {folder}")
def drop_folder_flow(folder: str, db: str, dry_run: bool = False) -> list[dict[str, Any]]:
    """Import every file waiting in `<folder>/inbox`, each as its own flow run, then move it
    to `done/` or `failed/` with its run id in its name. A file still being written (a
    `.part`/`.tmp` name, or hidden) waits for the next run."""
    root = Path(folder)
    inbox, done, failed = root / "inbox", root / "done", root / "failed"
    for d in (inbox, done, failed):
        d.mkdir(parents=True, exist_ok=True)
    logger = get_run_logger()
    results = []
    for link in outside_links(inbox):
        logger.warning("%s: a link to a file outside the folder: left alone", link.name)
    for file in folder_files(inbox):
        try:
            settings = _settings_for(file)
        except Exception as exc:  # a bad settings file fails this file, not the others
            summary = {"status": "failed", "run_id": "no-run", "errors": [str(exc)]}
        else:
            summary = _result(import_contacts_flow, file=str(file), db=db, settings=settings,
                              dry_run=dry_run)
            if not isinstance(summary, dict):  # the flow run crashed: its exception
                summary = {"status": "failed", "run_id": "no-run",
                           "errors": [f"internal error: {type(summary).__name__}: {summary}"]}
        target = (done if summary.get("status") in ("completed", "preview") else failed)
        moved = target / f"{file.stem}.{summary.get('run_id', 'no-run')}{file.suffix}"
        file.replace(moved)
        logger.info("%s: %s, moved to %s", file.name, summary.get("status"), moved.parent.name)
        results.append({"file": file.name, "status": summary.get("status"),
                        "run_id": summary.get("run_id"), "moved_to": str(moved)})
    return results


def serve_deployments(*, folder: str, db: str, cron: str | None,
                      erp: dict[str, Any] | None = None, erp_cron: str | None = None,
                      live: list[dict[str, Any]] | None = None,
                      sync_cron: str | None = None) -> None:
    """Serve the deployments from this process (needs a Prefect server: schedules do not
    run on the ephemeral one). Blocks until interrupted."""
    from prefect import serve

    deployments = [
        drop_folder_flow.to_deployment(name="inbox", cron=cron,
                                       parameters={"folder": folder, "db": db},
                                       tags=["drop-folder"]),
        import_contacts_flow.to_deployment(name="on-demand", parameters={"db": db}),
        import_products_flow.to_deployment(name="on-demand", parameters={"db": db}),
        import_erp_actors_flow.to_deployment(name="on-demand", parameters={"db": db}),
    ]
    if erp:
        deployments.append(import_erp_actors_flow.to_deployment(
            name=f"sync-{erp['actor_type']}", cron=erp_cron, parameters={"db": db, **erp},
            tags=["erp-sync"]))
    deployments.append(sync_contacts_flow.to_deployment(name="on-demand",
                                                        parameters={"db": db}))
    for account in live or []:  # (names and options only: the tokens stay in the store)
        deployments.append(sync_contacts_flow.to_deployment(
            name=f"sync-{account['provider']}-{account['account']}", cron=sync_cron,
            parameters={"db": db, **account}, tags=["contacts-sync", account["provider"]]))
    serve(*cast(list[RunnerDeployment], deployments), print_starting_message=True)
