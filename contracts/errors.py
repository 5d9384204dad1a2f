"""Run-level failures. Each carries its fields and says what to do about it.

The CLI turns any `CrmImportError` into one readable message and a non-zero exit.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


class CrmImportError(Exception):
    """Base of every user-facing import failure."""

    hint: str = ""

    def __str__(self) -> str:  # one line: what happened — what to do
        base = super().__str__()
        return f"{base} — {self.hint}" if self.hint else base


class SourceUnreadable(CrmImportError):
    def __init__(self, path: str, reason: str, hint: str = ""):
        self.path, self.reason = path, reason
        self.hint = hint or "check that the file is a spreadsheet or CSV export and is not corrupt"
        super().__init__(f"{path}: cannot read the file: {reason}")


class NoRows(CrmImportError):
    def __init__(self, path: str, detail: str = ""):
        self.path = path
        self.hint = "fill in at least one data row below the header"
        super().__init__(f"{path}: no data rows to import{': ' + detail if detail else ''}")


class NoMappedColumns(CrmImportError):
    def __init__(self, path: str, headers: list[str]):
        self.path, self.headers = path, headers
        # headers are quoted only where they look like a table's: the first line of some
        # other file (a key file, a password file) must not end up in a run record
        plausible = len(headers) >= 2 and all(len(h) <= 60 for h in headers)
        shown = (", ".join(headers[:8]) + (f" … ({len(headers)} in all)" if len(headers) > 8
                                             else "")
                 if plausible else f"{len(headers)} column(s), not headers of a table: "
                                   "is it an export of contacts?")
        self.hint = "map them with --mapping (see `crm-import mapping FILE -o M.toml`)"
        super().__init__(f"{path}: no column maps to a CRM field (headers: {shown or 'none'})")


class MissingMatchColumn(CrmImportError):
    def __init__(self, entity: str, key: str | list[str], needed: list[str], columns: list[str]):
        self.entity, self.key, self.needed, self.columns = entity, key, needed, columns
        self.hint = (
            f"add a column for {' or '.join(needed)}, map one with --mapping, "
            f"or choose another [{entity}] match"
        )
        super().__init__(
            f"{entity}.match = {key!r} needs a column mapped to {' / '.join(needed)}, "
            f"but the file's mapped columns are: {', '.join(columns) or '(none)'}"
        )


class SettingsInvalid(CrmImportError):
    """Every problem of a settings file, at once: (key, what is wrong) pairs."""

    def __init__(self, path: str, problems: list[tuple[str, str]]):
        self.path, self.problems = path, problems
        self.key = problems[0][0] if problems else ""
        said = "; ".join(p if k == "(file)" else f"setting {k!r}: {p}" for k, p in problems)
        self.hint = "`crm-import settings` lists every key"
        super().__init__(f"{path}: {said}" if len(problems) < 2
                         else f"{path}: {len(problems)} problems: {said}")


class MappingInvalid(CrmImportError):
    def __init__(self, path: str, problem: str, hint: str = ""):
        self.path = path
        self.hint = hint
        super().__init__(f"{path}: {problem}")


class TooManyRejects(CrmImportError):
    def __init__(self, path: str, rejected: int, read: int, limit: float | int,
                 run_id: str = "RUN_ID"):
        self.path, self.rejected, self.read, self.limit = path, rejected, read, limit
        self.hint = (
            f"nothing was applied; see the rejected rows with `crm-import show {run_id} "
            "--rejects`, fix the file or its mapping, or raise [import] max_rejects"
        )
        what = (f"{limit:.0%} of the rows" if isinstance(limit, float)
                else f"{limit} row{'' if limit == 1 else 's'}")
        super().__init__(
            f"{path}: {rejected} of {read} rows rejected, more than max_rejects allows ({what})"
        )


class RunNotFound(CrmImportError):
    def __init__(self, run_id: str):
        self.run_id = run_id
        self.hint = "list runs with `crm-import runs`"
        super().__init__(f"no run {run_id!r} in this CRM")


class SelectionNotFound(CrmImportError):
    def __init__(self, selection_id: str):
        self.selection_id = selection_id
        self.hint = "selections are named RUN_ID-new and RUN_ID-updated; see `crm-import runs`"
        super().__init__(f"no selection {selection_id!r} in this CRM")


class StoreUnavailable(CrmImportError):
    def __init__(self, target: str, reason: str, hint: str | None = None):
        self.target = target
        self.hint = hint if hint is not None else (
            "another crm-import may be running on this database; wait for it or use --db")
        super().__init__(f"cannot open the CRM database {target}: {reason}")


class ErpProfileInvalid(CrmImportError):
    def __init__(self, source: str, problem: str, allowed: list[str] | None = None):
        self.source, self.problem = source, problem
        self.hint = ("allowed: " + ", ".join(allowed)) if allowed else \
            "see docs/ERP.md for the profile format"
        super().__init__(f"{source}: bad ERP profile: {problem}")


class ErpUnavailable(CrmImportError):
    def __init__(self, connection: str, reason: str, hint: str = ""):
        self.connection, self.reason = connection, reason
        self.hint = hint or "check the connection: a SQLite file, a postgresql:// URL or an " \
                            "export file (CSV/Excel/JSON)"
        super().__init__(f"{connection}: cannot read the ERP: {reason}")


class ErpQueryInvalid(CrmImportError):
    def __init__(self, problem: str, allowed: list[str] | None = None):
        self.problem = problem
        self.hint = ("allowed: " + ", ".join(allowed)) if allowed else ""
        super().__init__(problem)


def read_toml(path: Path, fail: Callable[[str], Exception]) -> dict:
    """A TOML file as a dict; a missing or malformed file becomes `fail(problem)` (the
    caller's own error type, naming the file)."""
    import tomllib
    from pathlib import Path

    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise fail("file not found") from None
    except IsADirectoryError:
        raise fail("is a folder, not a file") from None
    except UnicodeDecodeError as exc:
        raise fail(f"not UTF-8 text (byte {exc.start + 1}): save it as UTF-8") from None
    except OSError as exc:
        raise fail(f"cannot read it: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise fail(f"not valid TOML: {exc}") from None


class AlreadyImported(CrmImportError):
    def __init__(self, path: str, runs: list[str]):
        self.hint = "run it without --once to import it again (merge changes nothing twice)"
        super().__init__(f"{path}: an identical file was imported before, as run {', '.join(runs)}")


class LiveSourceFailed(CrmImportError):
    """A live source (a Google or Microsoft account) that could not be read: not connected,
    access revoked, or the service failing after the retries."""

    def __init__(self, account: str, problem: str, hint: str = ""):
        self.account = account
        self.hint = hint
        super().__init__(f"{account}: {problem}")
