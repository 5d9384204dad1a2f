"""`crm-import`: the command line (SPEC §5). stdout carries results; logs go to stderr.

Without PREFECT_API_URL the pipeline runs in-process and Prefect is never imported
(importing it alone costs ~3 s); with it, every import runs as a tracked Prefect flow.
Commands by group: `imports` (run, products, erp, mapping, template), `runs` (runs, show,
selection, undo, purge), `admin` (serve, erp-sample, init-db, demo), `live` (connect,
accounts, disconnect); what they share is in
`common`.
"""

from __future__ import annotations

import importlib

from flows.cli.common import app

for _group in ("imports", "runs", "admin", "live", "duplicates"):  # each registers its commands; help lists them so
    importlib.import_module(f"flows.cli.{_group}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
