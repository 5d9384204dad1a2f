"""What every command shares: the app, the common options, one decorator that turns a
user error into one message (or one JSON object) and exit status 2, the terminal
reporter and the summary printer."""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from contracts.errors import CrmImportError
from flows.config import default_db

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Bulk import of companies, persons and products into a CRM.")
selection_app = typer.Typer(no_args_is_help=True, help="Work with the selections of a run.")
app.add_typer(selection_app, name="selection")

DbOpt = Annotated[str | None, typer.Option("--db", help="CRM database: a DuckDB file or a "
                                           "postgresql://user@host:port/db URL (default "
                                           "$CRM_IMPORT_DB, else data/crm.duckdb)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")]
NoWaitOpt = Annotated[bool, typer.Option("--no-wait", help="if another crm-import holds the "
                                         "CRM, fail at once instead of waiting")]
SettingsOpt = Annotated[Path | None, typer.Option(help="import policy (TOML)")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="plan and stage only; change "
                                         "nothing in the CRM")]
MappingOpt = Annotated[Path | None, typer.Option(help="column mapping (TOML)")]
SheetOpt = Annotated[str | None, typer.Option(help="sheet name (default: first with data)")]
EncodingOpt = Annotated[str | None, typer.Option(help="text encoding of a CSV or vCard "
                                                 "(default: detected)")]
ExcludeRowsOpt = Annotated[str | None, typer.Option("--exclude-rows",
                                                    help="rows to leave out, e.g. 3,7-9")]


def _waiting(holder: str) -> None:
    typer.echo(f"waiting for {holder} to finish with this CRM …", err=True)


def _store(db: str | None, *, wait: bool = True):
    from flows.config import open_crm

    return open_crm(_db(db), wait=wait, on_wait=_waiting)


def _db(db: str | None) -> str:
    return default_db(db)


def _emit(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")


def _fail(exc: CrmImportError, as_json: bool) -> None:
    if as_json:
        _emit({"status": "failed", "errors": [str(exc)]})
    else:
        typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(2)


def _console():
    """A rich console on stdout; wide when it is not a terminal (pipes, files)."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 220, soft_wrap=False)


def _frame_table(frame, title: str | None = None):
    """A polars frame as a rich table (values as text, empty cells blank)."""
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_lines=False)
    for c in frame.columns:
        table.add_column(c, overflow="fold", no_wrap=c in ("run_id", "started_at", "status"))
    for row in frame.iter_rows():
        table.add_row(*["" if v is None else str(v) for v in row])
    return table


def _print_summary(s: dict[str, Any]) -> None:
    from rich.table import Table

    console = _console()
    out = console.print
    out(f"run [bold]{s['run_id']}[/]: {s['status']}  ({s.get('source')} · {s.get('file')})",
        highlight=False)
    out(f"  rows read {s['rows']['read']}, rejected {s['rows']['rejected']}"
        + (f", excluded {s['rows']['excluded']}" if s["rows"].get("excluded") else ""),
        highlight=False)
    entities = [e for e in ("company", "person", "product") if any(s[e].values())]
    if entities:
        counts = Table(box=None, padding=(0, 2), pad_edge=False)
        counts.add_column("  entity")
        for outcome in s[entities[0]]:
            counts.add_column(outcome, justify="right")
        for entity in entities:
            counts.add_row(f"  {entity}", *[str(v) for v in s[entity].values()])
        out(counts)
    if s.get("mapping", {}).get("unmapped"):
        out("  unmapped columns: " + ", ".join(s["mapping"]["unmapped"]), highlight=False)
    if s["selections"].get("new"):
        out(f"  selections: {s['selections']['new']}, {s['selections']['updated']}",
            highlight=False)
    for w in s["warnings"][:10]:
        where = f"row {w['row']}, {w['column']}: " if w.get("row") else ""
        out(f"  warning: {where}{w['message']}", highlight=False, markup=False)
    if len(s["warnings"]) > 10:
        out(f"  … {len(s['warnings']) - 10} more warnings (crm-import show {s['run_id']})",
            highlight=False)
    for e in s["errors"]:
        out(f"  error: {e}", highlight=False, markup=False)


def _import(req, as_json: bool) -> dict[str, Any]:
    if os.environ.get("PREFECT_API_URL"):
        from flows.prefect_flows import run_with_prefect

        summary = run_with_prefect(req)
    else:
        from flows.cli.terminal import TerminalReporter
        from flows.pipeline import import_contacts

        summary = import_contacts(req, report=None if as_json else TerminalReporter(),
                                  on_wait=_waiting)
    _show(summary, as_json)
    return summary


def _show(summary: dict[str, Any], as_json: bool) -> None:
    _emit(summary) if as_json else _print_summary(summary)


def command(group: typer.Typer, name: str | None = None) -> Callable[[Callable[..., Any]],
                                                                     Callable[..., Any]]:
    """Register a command; a `CrmImportError` it raises becomes one line on stderr (with
    --json: one JSON object on stdout) and exit status 2."""
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except CrmImportError as exc:
                _fail(exc, bool(kwargs.get("as_json", False)))
        return group.command(name)(wrapper)
    return register


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log progress (INFO) "
                                                "to stderr")] = False) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
