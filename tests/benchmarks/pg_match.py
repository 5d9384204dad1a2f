"""Where to match against a PostgreSQL CRM (not a test):
`python -m tests.benchmarks.pg_match --db postgresql://…/crm_bench_N`.

Run it on a database left by `python -m tests.benchmarks.run --rows 1000000 --pg SERVER`
(`crm_bench_<pid>`). Times, for the persons' e-mail keys: pulling the CRM's column through
the key expressions, then the candidate join (a) in an in-process DuckDB, (b) in PostgreSQL
with both key sets sent as temporary tables, (c) in PostgreSQL on an expression index.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import polars as pl

from transforms import match
from transforms.store import open_store


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True)
    args = ap.parse_args()
    os.environ.setdefault("CRM_IMPORT_STAGING", os.path.join(tempfile.mkdtemp(), "s.duckdb"))
    with open_store(args.db) as store:
        t = time.perf_counter()
        crm = match.crm_person_keys(store, "email")
        print(f"pull CRM person e-mail keys: {crm.height:,} rows in {time.perf_counter() - t:.2f} s")
        file_keys = crm.sample(fraction=1.0, shuffle=True, seed=1).head(1_000_000).select(
            pl.int_range(pl.len()).alias("group"), "scope", "key")
        for name, engine in (("DuckDB in process", store.compute),
                             ("PostgreSQL temp tables", store)):
            t = time.perf_counter()
            engine.register("file_keys", file_keys)
            engine.register("crm_keys", crm.select("crm_id", "scope", "key"))
            pairs = engine.query(match.CANDIDATE_SQL)
            engine.unregister_all()
            print(f"candidate join in {name}: {pairs.height:,} pairs in "
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
