"""Connection strings as they may be shown: never with their password."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(target: str) -> bool:
    return target.startswith(POSTGRES_SCHEMES)


def safe_connection(connection: str) -> str:
    """The connection as it may be shown and stored: a URL without its password."""
    if "://" not in connection:
        return connection
    parts = urlsplit(connection)
    if parts.password is None:
        return connection
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def without_password(connection: str) -> tuple[str, str | None]:
    """(the URL without its password, the password) — for passing a URL through places that
    record it (Prefect flow parameters) while the password travels another way."""
    parts = urlsplit(connection)
    if parts.password is None:
        return connection, None
    host = parts.hostname or ""
    netloc = (parts.username or "") + "@" + host + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc)), parts.password
