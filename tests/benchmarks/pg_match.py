"""Where to match against a PostgreSQL CRM (not a test):
`python -m tests.benchmarks.pg_match --db postgresql://…/crm_bench_N`.

Run it on a database left by `python -m tests.benchmarks.run --rows 1000000 --pg SERVER`
(`crm_bench_<pid>`). Times, for the persons' e-mail keys: pulling the CRM's column through
the key expressions, then the candidate join (a) in process (polars, as the plan does it), (b) in PostgreSQL
with both key sets sent as temporary tables, (c) in PostgreSQL on an expression index.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import polars as pl

from contracts.keys import match_key
from flows.config import open_crm
from transforms import match
from transforms.snapshot import crm_keys


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True)
    args = ap.parse_args()
    os.environ.setdefault("CRM_IMPORT_STAGING", os.path.join(tempfile.mkdtemp(), "s.duckdb"))
    with open_crm(args.db) as store:
        t = time.perf_counter()
        crm = crm_keys(store, match_key("person", "email"))
        print(f"pull CRM person e-mail keys: {crm.height:,} rows in {time.perf_counter() - t:.2f} s")
        file_keys = crm.sample(fraction=1.0, shuffle=True, seed=1).head(1_000_000).select(
            pl.int_range(pl.len()).alias("group"), "scope", "key")
        t = time.perf_counter()
        pairs = match.find_candidates(file_keys.with_columns(pl.col("group").cast(pl.String)), crm)
        print(f"candidate join in polars, in process: {pairs.height:,} pairs in "
              f"{time.perf_counter() - t:.2f} s")
        t = time.perf_counter()
        store.register("file_keys", file_keys)
        store.register("crm_keys", crm.select("crm_id", "scope", "key"))
        pairs = store.query('SELECT f."group", c.crm_id FROM file_keys f JOIN crm_keys c '
                            "ON f.key = c.key AND f.scope = c.scope")
        store.unregister_all()
        print(f"candidate join in PostgreSQL (temp tables): {pairs.height:,} pairs in "
              f"{time.perf_counter() - t:.2f} s")
        t = time.perf_counter()
        store.execute("CREATE INDEX bench_email_key ON email (lower(trim(address))) "
                      "WHERE owner_kind = 'person'")
        made = time.perf_counter() - t
        t = time.perf_counter()
        store.register("file_keys", file_keys)
        pairs = store.query('SELECT f."group", e.owner_id AS crm_id FROM file_keys f JOIN email e '
                            "ON lower(trim(e.address)) = f.key AND e.owner_kind = 'person'")
        store.unregister_all()
        print(f"join in PostgreSQL on an expression index: {pairs.height:,} pairs in "
              f"{time.perf_counter() - t:.2f} s (index built in {made:.2f} s)")
        store.execute("DROP INDEX bench_email_key")


if __name__ == "__main__":
    main()
