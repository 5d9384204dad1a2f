"""The CRM password from a Prefect Secret block (`CRM_IMPORT_DB_SECRET` names it), for a
PostgreSQL store whose URL carries none. Prefect is imported only when the name is set."""

from __future__ import annotations

import os

from contracts.errors import StoreUnavailable


def prefect_secret_password() -> str | None:
    """The password of the block CRM_IMPORT_DB_SECRET names (None: no block named, or
    PGPASSWORD gives one already)."""
    name = os.environ.get("CRM_IMPORT_DB_SECRET")
    if not name or os.environ.get("PGPASSWORD"):
        return None
    try:
        from prefect.blocks.system import Secret

        block = Secret.load(name)  # (sync here: no event loop runs)
        return str(block.get())  # type: ignore[union-attr]
    except Exception as exc:  # a missing block is a connection problem, said plainly
        raise StoreUnavailable("postgresql", f"cannot read the Prefect Secret block {name!r} "
                               f"(CRM_IMPORT_DB_SECRET): {type(exc).__name__}") from None
