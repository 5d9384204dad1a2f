"""Connection strings as they may be shown: never with their password."""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit, urlunsplit

POSTGRES_SCHEMES = ("postgresql://", "postgres://")

def is_postgres(target: str) -> bool:
    return target.startswith(POSTGRES_SCHEMES)


# user:password@ up to the last "@" (a password may hold "/", "#", "?" that a URL parser
# would take for the path, fragment or query), and a password=… parameter
_AUTH = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:@]*):(?P<pw>.*)@(?P<rest>[^@]*)$",
                   re.S)
_QUERY_PASSWORD = re.compile(r"(?i)([?&]password=)[^&]*")


def safe_connection(connection: str) -> str:
    """The connection as it may be shown and stored: a URL without its password, however
    it is written (in the authority, with characters a URL would escape, or as a query
    parameter as libpq allows)."""
    if "://" not in connection:
        return connection
    masked = _AUTH.sub(r"\g<scheme>\g<user>:***@\g<rest>", connection)
    return _QUERY_PASSWORD.sub(r"\1***", masked)


def _netloc(parts: SplitResult, password: str | None) -> str:
    auth = f"{parts.username}:{password}@" if password is not None else f"{parts.username or ''}@"
    return auth + (parts.hostname or "") + (f":{parts.port}" if parts.port else "")


def without_password(connection: str) -> tuple[str, str | None]:
    """(the URL without its password, the password) — for passing a URL through places that
    record it (Prefect flow parameters) while the password travels another way."""
    parts = urlsplit(connection)
    if parts.password is None:
        return connection, None
    return urlunsplit(parts._replace(netloc=_netloc(parts, None))), parts.password


# URLs whose password was hidden in this process: masked form → the real one. Flow
# parameters are recorded by the Prefect server, so flows get the masked form and look
# the real one up here (a served deployment has no entry: its password comes from
# PGPASSWORD, ~/.pgpass or a Prefect Secret block).
_HIDDEN: dict[str, str] = {}


def hide_password(connection: str) -> str:
    masked = safe_connection(connection)
    if masked != connection:
        _HIDDEN[masked] = connection
    return masked


def reveal_password(connection: str) -> str:
    if connection in _HIDDEN:
        return _HIDDEN[connection]
    if "://" in connection and urlsplit(connection).password == "***":
        return without_password(connection)[0]
    return connection
