"""A large CSV imported in chunks: the memory of one chunk, the result of the whole file.

1. The file is read a batch at a time (`transforms.sources.csv_stream`); each batch is
   mapped, validated and staged (`staging.raw_rows`, `staging.canonical`), and its valid
   rows go to a scratch Parquet file with the keys that tie rows together.
2. The CRM's match keys are read once; rows are split into chunks of whole connected
   components (`transforms.chunks`): no entity, and no CRM record, spans two chunks.
3. Each chunk is planned against that snapshot of the CRM's keys and applied; all chunks
   share one transaction, so a failure anywhere leaves the CRM as it was.

Used for contact CSVs (UTF-8) and sheets of more than `[import] chunk_rows` rows (a sheet
is read whole first: fastexcel cannot read part of one); everything else is imported whole
(`flows.pipeline.import_file`).
"""

from __future__ import annotations

import codecs
import logging
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl

from contracts.canonical import PlanRow
from contracts.errors import NoRows
from flows.faults import checkpoint
from flows.request import ImportRequest
from flows.run import Run
from transforms import chunks as ch
from transforms import report as rp
from transforms.apply import apply_plan
from transforms.columns import map_columns, mapping_summary
from transforms.plan import plan_contacts
from transforms.scratch import scratch_folder
from transforms.snapshot import CrmKeys, read_snapshot
from transforms.sources import RawTable, TableBatches, reader_of
from transforms.sources.contacts import detect_csv_export
from transforms.sources.csv_stream import CsvStream, count_lines, open_csv_stream
from transforms.staging import InputsWriter, created_rows, record_new_ids, write_outcomes
from transforms.summary import no_counts
from transforms.validate import check_rows
from transforms.wording import count

log = logging.getLogger("crm_import")
# one chunk's frames, and DuckDB's cache of the CRM file beside them; with suggestions too
# (until 2026-12-04 a run with them had 1 GB: a 10M import ran out of 512 MB after its
# scoring, where the UPDATE that wrote the created records' ids into staging.outcomes ran;
# without it, since staging.created, the same import completes in 512 MB)
CHUNKED_DUCKDB_MEMORY = "512MB"  # (CRM_IMPORT_DUCKDB_MEMORY overrides it)
SCRATCH: Literal["lz4"] = "lz4"  # scratch Parquet files: written once, read once or twice, then deleted
READING = 0.4  # the share of a chunked run's progress that reading the batches stands for


def _contacts_reader(req: ImportRequest) -> str | None:
    """The reader (csv, excel) of a contacts import of a file that may be chunked; None for
    anything else (products, an ERP query, an address-book format, a missing or unknown
    file: the whole-file path says why)."""
    if req.kind != "contacts" or req.erp is not None:
        return None
    path = Path(req.file)
    try:
        reader = reader_of(path, req.source) if path.is_file() else None
    except Exception:  # an unknown file type
        return None
    return reader.name if reader is not None and reader.chunked else None


def wants_chunks(req: ImportRequest) -> bool:
    """A contacts CSV (UTF-8) with more rows than `[import] chunk_rows`."""
    if req.source not in ("auto", "csv") or _contacts_reader(req) != "csv":
        return False
    if req.encoding:
        try:
            if codecs.lookup(req.encoding).name not in ("utf-8", "utf-8-sig"):
                return False
        except LookupError:
            return False  # (the whole-file reader says what is wrong with it)
    return count_lines(Path(req.file)) > req.settings.import_.chunk_rows + 1


def may_be_large_sheet(req: ImportRequest) -> bool:
    """A contacts import of a spreadsheet: large or not, its row count tells once read."""
    return req.source in ("auto", "excel") and _contacts_reader(req) == "excel"


def wants_sheet_chunks(req: ImportRequest, raw: RawTable) -> bool:
    """The sheet `may_be_large_sheet` read (not an address-book export), with more rows
    than `chunk_rows`."""
    return raw.source == "excel" and raw.frame.height > req.settings.import_.chunk_rows


@dataclass
class Read:
    """What the reading pass leaves: the valid rows (on disk), the issues, the keys."""
    parts: list[Path]  # the valid rows, a file per batch
    keys: list[Path]  # their keys (`chunks.tie_keys`), a file per batch
    rejects: pl.DataFrame
    warnings: pl.DataFrame
    headers: dict[str, str]
    has_company: bool
    has_person: bool
    # the last batch's staging, still being written (awaited before the run ends)
    pending: InputsWriter | None = None

    def staged(self) -> None:
        """Wait for the inputs' staging; a failure there fails the run."""
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.wait()


def import_csv(r: Run, scratch: Path | None = None) -> bool:
    """Run the import of a large CSV; fills r.summary (raises on bad input, like
    `import_file`). False: the file is not for this reader (not UTF-8, or an address-book
    export), nothing was done."""
    with scratch_folder("chunks", scratch) as tmp:
        folder = Path(tmp)
        with r.stage("read file"):
            stream = r.run("extract", open_csv_stream, Path(r.req.file), folder)
        if stream is None or detect_csv_export(stream.header.headers):
            return False  # (not UTF-8, or an address-book export: the whole-file reader)
        r.summary.source = "csv"
        r.summary.encoding = stream.encoding
        _import_stream(r, stream, folder)
    return True


def import_sheet(r: Run, raw: RawTable, scratch: Path | None = None) -> None:
    """Run the import of a large sheet, already read whole (`read_excel`), in chunks."""
    with scratch_folder("chunks", scratch) as tmp:
        r.summary.source = raw.source
        r.summary.sheet = raw.sheet
        _import_stream(r, TableBatches(raw), Path(tmp))


def _import_stream(r: Run, stream: CsvStream | TableBatches, folder: Path) -> None:
    r.crm.limit_memory(CHUNKED_DUCKDB_MEMORY)
    r.begin()
    read = _read(r, stream, folder)
    try:
        r.summary.chunks, crm = _split(r, read, folder)
        keys = [crm]
        del crm  # (the last chunk lets them go: `_plan_and_load`)
        _plan_and_load(r, read, keys, folder)
    finally:
        with suppress(BaseException):  # (a failed run: its error is what matters)
            read.staged()


def _read(r: Run, stream: CsvStream | TableBatches, folder: Path) -> Read:
    """Batch by batch: map, validate, stage the inputs, keep the valid rows and their ties."""
    req, summary = r.req, r.summary
    size = req.settings.import_.chunk_rows
    parts, key_parts, rejects, warnings = [], [], [], []
    writer: InputsWriter | None = None
    mapped = None
    read_rows = excluded = 0
    try:
        batches = stream.count(size)
        for n, raw in enumerate(stream.batches(size)):
            r.report.progress(READING * n / batches)
            with r.stage("read file"):
                read_rows += raw.frame.height
                if req.exclude_rows:
                    excluded += raw.frame.filter(
                        pl.col("source_row").is_in(list(req.exclude_rows))).height
                checkpoint("read")
            with r.stage("map columns"):
                mapped = r.run("map", map_columns, raw, req.mapping_file, req.exclude_rows,
                                 req.kind, req.settings)
                checkpoint("map")
            with r.stage("validate"):
                checked = r.run("validate", check_rows, mapped.canonical, settings=req.settings,
                                  headers=mapped.headers)
                checkpoint("validate")
            with r.stage("staging inputs"):
                if writer is not None:
                    writer.wait()
                # (written in a thread while the next batch is read)
                writer = InputsWriter(r.crm, run_id=r.run_id, raw=raw.frame,
                                      canonical=mapped.canonical)
            with r.stage("keys"):
                key_parts.append(folder / f"keys-{n}.parquet")
                ch.tie_keys(checked.rows, req.settings).write_parquet(key_parts[-1],
                                                                      compression=SCRATCH)
                parts.append(folder / f"rows-{n}.parquet")
                checked.rows.write_parquet(parts[-1], compression=SCRATCH)
            if raw.row_issues is not None:
                rejects.append(raw.row_issues.with_columns(pl.lit(None, pl.String).alias("field"))
                               .select(checked.rejects.columns))
            rejects.append(checked.rejects)
            warnings.append(checked.warnings)
    except BaseException:
        if writer is not None:
            with suppress(BaseException):
                writer.wait()
        raise
    if mapped is None:
        raise NoRows(req.file, "the file has a header but no rows below it")
    summary.rows.read = read_rows
    if req.exclude_rows:
        summary.rows.excluded = excluded
    summary.mapping = mapping_summary(mapped, stream.headers)
    log.info("run %s: %s read", r.run_id, count(read_rows, "row"))
    return Read(parts, key_parts, pl.concat(rejects, how="vertical_relaxed"),
                pl.concat(warnings, how="vertical_relaxed"), mapped.headers,
                mapped.has_company, mapped.has_person, writer)


def _split(r: Run, read: Read, folder: Path) -> tuple[int, CrmKeys]:
    """Valid rows regrouped into chunk-<k>/ folders; returns how many chunks, and the CRM
    keys the file can find (read once, before anything changes)."""
    settings = r.req.settings
    keys = pl.scan_parquet(read.keys)
    with r.stage("read CRM keys"):
        crm = CrmKeys.found(r.crm, settings, keys)
    with r.stage("split into chunks"):
        chunk_of = ch.assign_chunks(ch.components(*ch.ties(keys, crm, settings)),
                                    settings.import_.chunk_rows)
        for n, part in enumerate(read.parts):
            into = (pl.read_parquet(part, columns=["source_row"])
                    .join(chunk_of, on="source_row")["chunk"].unique())
            for k in into:
                (folder / f"chunk-{k}").mkdir(exist_ok=True)
            if into.len() == 1:  # (a batch within one chunk, as in files sorted by company)
                part.rename(folder / f"chunk-{into[0]}" / f"{n}.parquet")
                continue
            rows = pl.read_parquet(part).join(chunk_of, on="source_row")
            for (k,), piece in rows.partition_by("chunk", as_dict=True).items():
                piece.drop("chunk").write_parquet(folder / f"chunk-{k}" / f"{n}.parquet",
                                                  compression=SCRATCH)
            part.unlink()
        last = chunk_of["chunk"].max() if chunk_of.height else None
        return (int(last) + 1 if isinstance(last, int) else 0), crm


def _plan_and_load(r: Run, read: Read, keys: list[CrmKeys], folder: Path) -> None:
    """Each chunk planned and loaded, in one transaction. `keys`: the CRM keys the file
    can find, let go once the last chunk has read its share (~0.2 GB at 10M rows, held
    otherwise while the run's suggestions are scored)."""
    req, store, chunks = r.req, r.crm, r.summary.chunks or 0
    rejects, warnings = [read.rejects], [read.warnings]
    # the reading pass's issues are staged at once: a run stopped by them keeps them
    write_outcomes(store, run_id=r.run_id, rejects=read.rejects, warnings=read.warnings,
                   plan=None)
    rp.check_rejects(r.summary.file, read.rejects["source_row"].n_unique(), r.summary.rows.read,
                     req.settings.import_.max_rejects, r.run_id)
    counts = {e: no_counts() for e in ("company", "person")}  # (the summary's once concluded)
    created: list[pl.DataFrame] = []  # (source_row, entity, crm_id) of what the chunks create

    def plan_and_apply_each() -> None:
        for k in range(chunks):
            rows = pl.concat([pl.read_parquet(p) for p in sorted((folder / f"chunk-{k}").iterdir())],
                             how="diagonal_relaxed").sort("source_row")
            with r.stage("read CRM"):
                snapshot = r.run("read CRM", read_snapshot, store, rows, req.settings,
                                 keys=keys[0])
            if k == chunks - 1:
                keys.clear()
            with r.stage("match and plan"):
                plan = r.run("plan", plan_contacts, rows, snapshot, settings=req.settings,
                             headers=read.headers, has_company=read.has_company,
                             has_person=read.has_person)
                checkpoint("plan")
            del rows, snapshot
            PlanRow.validate(plan.row_plan)
            # (its new records kept for the suggestions, scored once all chunks are planned)
            r.suggest(plan, more=True, last=k == chunks - 1)
            with r.stage("write staging"):
                stage_outcomes(rejects=plan.rejects, warnings=plan.warnings, plan=plan)
                checkpoint("stage")
            rejects.append(plan.rejects)
            warnings.append(plan.warnings)
            for entity, ep in plan.entities.items():
                for outcome, n in ep.counts().items():
                    counts[entity][outcome] += n
            if not req.dry_run:
                with r.stage("load"):
                    checkpoint("load" if k == 0 else f"chunk:{k}")
                    loaded = r.run("load", apply_plan, store, plan, run_id=r.run_id,
                                   checkpoint=checkpoint, first=k == 0)
                    created.append(created_rows(plan, loaded.new_of_group))
            log.info("run %s: chunk %d of %d done", r.run_id, k + 1, chunks)
            r.report.progress(READING + (1 - READING) * (k + 1) / chunks)

    def stage_outcomes(**outcomes: Any) -> None:
        # (staged on a connection of its own: kept if a later chunk fails)
        staging = store.staging.cursor()
        try:
            write_outcomes(staging, run_id=r.run_id, **outcomes)
        finally:
            staging.close()

    def plan_apply_conclude() -> None:
        plan_and_apply_each()
        with r.stage("staging inputs"):
            read.staged()
        for entity, got in counts.items():
            r.summary.count(entity, got)
        r.conclude(pl.concat(rejects, how="vertical_relaxed").sort("source_row"),
                   pl.concat(warnings, how="vertical_relaxed"))

    r.commit(plan_apply_conclude)
    # (the last chunk's thread scores the run's suggestions beside the COMMIT: at 1M rows
    # the run waited 1.0–1.5 s for them before it, and the COMMIT takes 2.2 s)
    suggested = r.suggested_after_commit()
    with r.stage("write staging"):  # (after the commit: the ids of what was made)
        record_new_ids(store, run_id=r.run_id, created=created, suggestions=suggested)
