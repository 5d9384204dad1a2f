"""What every command shares: the app, the common options, one decorator that turns a
user error into one message (or one JSON object) and exit status 2, the terminal
reporter and the summary printer."""

from __future__ import annotations

import functools
import json
import logging
import os
import shlex
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from typer._click import exceptions as click  # typer vendors click (pinned in uv.lock)
from typer.core import TyperGroup

from contracts.errors import CrmImportError
from flows.config import default_db

VERBOSE = ("-v", "--verbose")


def hoist_verbose(args: list[str]) -> list[str]:
    """`-v` may come before or after the command (`crm-import run F -v`): it is the app's
    option, so it moves to the front (never past a `--`)."""
    end = args.index("--") if "--" in args else len(args)
    head = [a for a in args[:end] if a not in VERBOSE]
    return (["-v"] if len(head) < end else []) + head + args[end:]


class CrmGroup(TyperGroup):
    """The app's command group: `-v` anywhere, and a usage error (unknown option, missing
    file, bad choice) as one line — with --json one JSON object — and exit status 2."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> Any:
        argv = hoist_verbose(list(sys.argv[1:] if args is None else args))
        try:
            rv = super().main(argv, prog_name or "crm-import", complete_var,
                              standalone_mode=False, windows_expand_args=windows_expand_args,
                              **extra)
        except click.UsageError as exc:
            rv = _usage_error(exc, "--json" in argv)
        except click.ClickException as exc:
            exc.show()
            rv = exc.exit_code
        except typer.Abort:
            typer.echo("aborted", err=True)
            rv = 1
        except Exception as exc:  # a bug: one line (one JSON object), the traceback with -v
            message = (f"the disk is full: {exc} — nothing was applied; free some space and "
                       "run it again" if disk_full(exc)
                       else f"internal error: {type(exc).__name__}: {exc}")
            if "--json" in argv:
                _emit({"status": "failed", "errors": [message]})
            if "-v" in argv:
                traceback.print_exc()
            elif disk_full(exc):
                typer.echo(f"error: {message}", err=True)
            else:
                typer.echo(f"error: {message} (run it again with -v for the traceback, and "
                           "report it)", err=True)
            rv = 1
        code = rv if isinstance(rv, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


def disk_full(exc: BaseException) -> bool:
    """No space left: the OS's ENOSPC, or a database engine's words for it (DuckDB raises
    its own error types around it)."""
    import errno

    return (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) \
        or "No space left on device" in str(exc)


def _usage_error(exc: click.UsageError, as_json: bool) -> int:
    if isinstance(exc, click.NoArgsIsHelpError):  # `crm-import` alone: the help, no error
        typer.echo(exc.format_message())
        return 0
    message = exc.format_message().replace("Value error, ", "")  # (typer's Literal check)
    command = exc.ctx.command_path.split()[1:] if exc.ctx is not None else []
    if as_json:
        _emit({"status": "failed", "errors": [message]})
    else:
        typer.echo(f"error: {message} (see `{me(' '.join([*command, '--help']))}`)", err=True)
    return 2


app = typer.Typer(cls=CrmGroup, add_completion=False, no_args_is_help=True,
                  pretty_exceptions_enable=False, rich_markup_mode=None,
                  help="Bulk import of companies, persons and products into a CRM.\n\n"
                       "-v (log progress to stderr) may come before or after the command.")
selection_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                            help="Work with the selections of a run.")
app.add_typer(selection_app, name="selection")

DbOpt = Annotated[str | None, typer.Option("--db", help="CRM database: a DuckDB file or a "
                                           "postgresql://user@host:port/db URL (default "
                                           "$CRM_IMPORT_DB, else data/crm.duckdb in the "
                                           "current directory)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")]
NoWaitOpt = Annotated[bool, typer.Option("--no-wait", help="if another crm-import holds the "
                                         "CRM, fail at once instead of waiting")]
def existing_file(value: Path | None) -> Path | None:
    """A file argument that must be there: a usage error (exit 2, no run) if not."""
    if value is not None and not value.is_file():
        raise typer.BadParameter(f"{value}: " + (
            "is a folder, not a file" if value.is_dir()
            else "is not a regular file (a pipe, device or socket)" if value.exists()
            else "no such file — check the path"))
    return value


def existing_path(value: Path | None) -> Path | None:
    """A file or a folder that must be there."""
    return value if value is None or value.is_dir() else existing_file(value)


SettingsOpt = Annotated[Path | None, typer.Option(callback=existing_file,
                                                  help="import policy (TOML; write one with "
                                                       "`crm-import settings -o FILE`)")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="plan and stage only; change "
                                         "nothing in the CRM")]
MappingOpt = Annotated[Path | None, typer.Option(callback=existing_file,
                                                 help="column mapping (TOML)")]
SheetOpt = Annotated[str | None, typer.Option(help="sheet name (default: first with data)")]


def _known_encoding(value: str | None) -> str | None:
    import codecs

    if value is not None:
        try:
            codecs.lookup(value)
        except LookupError:
            raise typer.BadParameter(f"unknown encoding {value!r} (Python knows e.g. utf-8, "
                                     "cp1252, latin-1, utf-16)") from None
    return value


EncodingOpt = Annotated[str | None, typer.Option(callback=_known_encoding,
                                                 help="text encoding of a CSV or vCard "
                                                      "(default: detected)")]
ExcludeRowsOpt = Annotated[str | None, typer.Option("--exclude-rows",
                                                    help="rows to leave out, e.g. 3,7-9")]


def _known_source(value: str) -> str:
    from transforms.sources.registry import SOURCES

    if value not in SOURCES:
        raise typer.BadParameter(f"{value!r} is not a source — one of: {', '.join(SOURCES)}")
    return value


def _source_help() -> str:
    from transforms.sources.registry import SOURCES

    return (f"{SOURCES[0]} (told by the file's content, extension and headers) or one of: "
            + ", ".join(SOURCES[1:]))


SourceOpt = Annotated[str, typer.Option(callback=_known_source, metavar="SOURCE",
                                        help=_source_help())]


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


def me(command: str, db: str | None = None) -> str:
    """A command line as the user types it — `uv run crm-import …` when run through uv, with
    the --db they gave — so that a hint we print works as printed."""
    from transforms.store.urls import safe_connection

    prog = "uv run crm-import" if os.environ.get("UV") else "crm-import"
    return f"{prog} {command}" + (f" --db {shlex.quote(safe_connection(db))}" if db else "")


class Out:
    """What a command prints for people. Off a terminal (a pipe, a file, a log) a line is
    never wrapped; on one, it wraps under its own text (a hanging indent). Tables fit the
    width: columns are dropped by priority, never squeezed to nothing."""

    def __init__(self) -> None:
        from rich.console import Console

        self.terminal = sys.stdout.isatty()
        wide = not self.terminal and not os.environ.get("COLUMNS")
        self.console = Console(width=220 if wide else None, soft_wrap=False, highlight=False)

    @property
    def width(self) -> int:
        return self.console.width

    def line(self, text: str, *, label: str = "", indent: int = 2) -> None:
        lead = " " * indent + label
        if not self.terminal:
            sys.stdout.write(lead + text + "\n")
            sys.stdout.flush()
            return
        from rich.table import Table
        from rich.text import Text

        grid = Table.grid()
        grid.add_column(no_wrap=True)
        grid.add_column(overflow="fold")
        grid.add_row(lead, Text(text))
        self.console.print(grid)

    def table(self, frame, title: str | None = None, *, keep: tuple[str, ...] = (),
              flexible: tuple[str, ...] = (), wrap: bool = True) -> list[str]:
        """`frame` as a table of at most the console's width. Columns go in the order of
        `keep` (the last first) and then of the frame (right to left) until it fits;
        `flexible` columns take what width is left (wrapped, or cut with … if not `wrap`).
        Returns the columns left out."""
        from rich import box
        from rich.table import Table

        cells = {c: ["" if v is None else str(v) for v in frame[c].to_list()] for c in frame.columns}
        natural = {c: max([len(c), *(len(v) for v in cells[c])]) for c in frame.columns}
        shown = list(frame.columns)
        order = [c for c in reversed(frame.columns) if c not in keep] + list(reversed(keep))

        def needed(cols: list[str]) -> int:  # (a column is 3 apart from the next)
            return sum(min(natural[c], 12) if c in flexible else natural[c] for c in cols) \
                + 3 * (len(cols) - 1)

        dropped = []
        for c in order:
            if needed(shown) <= self.width or len(shown) == 1:
                break
            shown.remove(c)
            dropped.append(c)
        table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False,
                      pad_edge=False, padding=(0, 1))
        fixed = sum(natural[c] for c in shown if c not in flexible) + 3 * (len(shown) - 1)
        room = max(self.width - fixed, 0)
        flex = [c for c in shown if c in flexible]
        for c in shown:
            if c in flex:
                width = max(min(natural[c], room // len(flex)), min(natural[c], 12))
                table.add_column(c, width=width, no_wrap=not wrap,
                                 overflow="fold" if wrap else "ellipsis")
            else:
                table.add_column(c, no_wrap=True, min_width=natural[c])
        for i in range(frame.height):
            table.add_row(*[cells[c][i] for c in shown])
        self.console.print(table)
        if dropped:
            self.line(f"(too narrow for {', '.join(reversed(dropped))}: widen the window, "
                      "or add --json)", indent=0)
        return dropped


def _frame_table(frame, title: str | None = None, **fit) -> None:
    Out().table(frame, title, **fit)


def _print_summary(s: dict[str, Any], db: str | None = None, *, hints: bool = True) -> None:
    from rich.table import Table

    from transforms.summary import warning_total
    from transforms.wording import count

    out = Out()
    out.line(f"run {s['run_id']}: {s['status']}  ({s.get('source')} · {s.get('file')})",
             indent=0)
    rows = s["rows"]
    if sync := s.get("sync"):
        out.line(f"{count(sync['pulled'], 'contact')} pulled ({sync['mode']}), "
                 f"{sync['deleted']} deleted in the account since the last sync")
    out.line(f"{count(rows['read'], 'row')} read, {rows['rejected']} rejected"
             + (f", {rows['excluded']} excluded" if rows.get("excluded") else ""))
    entities = [e for e in ("company", "person", "product") if any(s[e].values())]
    if entities:
        counts = Table(box=None, padding=(0, 2), pad_edge=False)
        counts.add_column("  entity")
        for outcome in s[entities[0]]:
            counts.add_column(outcome, justify="right")
        for entity in entities:
            counts.add_row(f"  {entity}", *[str(v) for v in s[entity].values()])
        out.console.print(counts)
    if s.get("mapping", {}).get("unmapped"):
        out.line(", ".join(s["mapping"]["unmapped"]), label="unmapped columns: ")
    if (found := s.get("suggestions")) and any(found.values()):
        said = ", ".join(count(n, e) for e, n in found.items() if n)
        out.line(f"{said} may duplicate a record" + (": " + me(
            f"duplicates --entity {'person' if found.get('person') else 'company'} --run "
            f"{s['run_id']}", db) if s["status"] == "completed" else " (staging.suggestions)"),
            label="possible duplicates: ")
    if s["selections"].get("new"):
        out.line(f"{s['selections']['new']}, {s['selections']['updated']}", label="selections: ")
    listed = [w for w in s["warnings"] if w.get("code") != "more"]
    for w in listed[:10]:
        where = f"row {w['row']}, {w['column']}: " if w.get("row") else ""
        out.line(where + w["message"], label="warning: ")
    more = warning_total(s["warnings"]) - len(listed[:10])
    if more:
        out.line(f"… {count(more, 'more warning')}: "
                 + me(f"show {s['run_id']} --warnings", db))
    if rows["rejected"] and hints:
        out.line(f"{count(rows['rejected'], 'rejected row')}: "
                 + me(f"show {s['run_id']} --rejects", db))
    for e in s["errors"]:
        out.line(e, label="error: ")


def _import(req, as_json: bool) -> dict[str, Any]:
    if os.environ.get("PREFECT_API_URL"):
        from flows.pipeline import refused

        # --no-wait answers before a flow run is started (Prefect takes seconds to)
        summary = refused(req)
        if summary is None:
            from flows.prefect_flows import run_with_prefect

            summary = run_with_prefect(req)
    else:
        from flows.cli.terminal import TerminalReporter
        from flows.pipeline import import_contacts

        summary = import_contacts(req, report=None if as_json else TerminalReporter(),
                                  on_wait=_waiting)
    _show(summary, as_json, req.db)
    return summary


def _show(summary: dict[str, Any], as_json: bool, db: str | None = None) -> None:
    """A run's summary: one JSON object, or for people (with hints naming `db` unless it is
    the default CRM)."""
    if as_json:
        _emit(summary)
    else:
        _print_summary(summary, None if db is None or db == default_db(None) else db)


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
