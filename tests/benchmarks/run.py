"""The performance benchmark (not a test): `python -m tests.benchmarks.run --rows N`.

Generates N contact rows and a CRM of N persons / N/4 companies (~20% of the file's persons
and companies are already there, in other spellings), then measures, each in its own
process so that time and peak memory are its own:

- `import`: the real CLI (`crm-import run FILE --json`, merge, person match email, company
  match name), with its stage times from the summary;
- `read floor`: the bare read of the file (polars CSV / fastexcel xlsx), every cell text;
- `join floor`: the minimal hand-written import — read, normalise the two keys, one DuckDB
  join each against the CRM, update the matched and insert the rest;
- `write floor`: the rows the import inserted (CRM records, change log, selections,
  staging), inserted bare into a fresh copy of the same CRM in one transaction — what
  storing them costs before any work decides them (not with --dry-run);
- `dlt merge` (when dlt is installed: `uv sync --group bench`): dlt's merge of the same file
  into a copy of the CRM's person table.

Prints wall time, peak RSS, rows/s and the ratios import/floor and import/dlt.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.benchmarks.contacts import generate, prefill, write_rows

SETTINGS = '[person]\nmatch = "email"\n[company]\nmatch = "name"\n'
MEASURE = ("import resource, subprocess, sys, time, json\n"
           "t = time.perf_counter()\n"
           "r = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, "
           "text=True)\n"
           "wall = time.perf_counter() - t\n"
           "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
           "print(json.dumps({'wall': wall, 'peak_mb': peak, 'rc': r.returncode, "
           "'out': r.stdout[-20000:], 'err': r.stderr[-2000:]}))\n")

READ_FLOOR = """
import sys, polars as pl
path = sys.argv[1]
if path.endswith(".csv"):
    df = pl.read_csv(path, infer_schema=False)
else:
    import fastexcel
    df = pl.from_arrow(fastexcel.read_excel(path).load_sheet(0, dtypes="string").to_arrow())
print(df.height)
"""

# read → normalise the two keys → join → update matched / insert new; nothing else
JOIN_FLOOR = """
import sys, duckdb, polars as pl
path, db = sys.argv[1], sys.argv[2]
df = pl.read_csv(path, infer_schema=False) if path.endswith(".csv") else pl.from_arrow(
    __import__("fastexcel").read_excel(path).load_sheet(0, dtypes="string").to_arrow())
df = df.with_columns(pl.col("Email").str.strip_chars().str.to_lowercase().alias("ekey"),
                     pl.col("Company").str.to_lowercase().str.replace_all(r"\\s+", " ")
                     .str.strip_chars().alias("ckey"))
con = duckdb.connect(db)
con.register("f", df)
con.execute("BEGIN")
con.execute("CREATE TEMP TABLE ck AS SELECT company_id, "
            "regexp_replace(lower(trim(name)), '\\\\s+', ' ', 'g') AS ckey FROM company")
con.execute("CREATE TEMP TABLE fc AS SELECT DISTINCT ON (ckey) ckey, Company, Address, Postcode, "
            "City FROM f")
con.execute("UPDATE company SET street = fc.Address, postcode = fc.Postcode, city = fc.City "
            "FROM ck, fc WHERE company.company_id = ck.company_id AND ck.ckey = fc.ckey")
con.execute("INSERT INTO company (company_id, name, street, postcode, city) SELECT "
            "(SELECT coalesce(max(company_id), 0) FROM company) + row_number() OVER (), "
            "Company, Address, Postcode, City FROM fc WHERE ckey NOT IN (SELECT ckey FROM ck)")
con.execute("CREATE TEMP TABLE pk AS SELECT owner_id AS person_id, lower(trim(address)) AS ekey "
            "FROM email WHERE owner_kind = 'person'")
con.execute("UPDATE person SET first_name = f.\\"First name\\", last_name = f.\\"Last name\\" "
            "FROM pk, f WHERE person.person_id = pk.person_id AND pk.ekey = f.ekey")
con.execute("INSERT INTO person (person_id, first_name, last_name) SELECT "
            "(SELECT coalesce(max(person_id), 0) FROM person) + row_number() OVER (), "
            "f.\\"First name\\", f.\\"Last name\\" FROM f WHERE ekey NOT IN (SELECT ekey FROM pk)")
con.execute("COMMIT")
print(df.height)
"""

# what the import stored (its new CRM rows, change log, selections and staging rows), read
# from the imported copy (not timed), then inserted bare into a fresh copy of the CRM in one
# transaction: the cost of the writes alone, without any of the work that decides them
WRITE_FLOOR = """
import json, sys, time, duckdb
done, before, target, run_id = sys.argv[1:5]
src, old = duckdb.connect(done, read_only=True), duckdb.connect(before, read_only=True)
frames = {}
for t in ("company", "person", "phone", "email", "url", "interest", "list_item"):
    last = old.sql(f"SELECT coalesce(max({t}_id), 0) FROM {t}").fetchall()[0][0]
    frames[t] = src.sql(f"SELECT * FROM {t} WHERE {t}_id > ?", params=[last]).to_arrow_table()
old.close()
for t in ("change_log_entry", "change_log_range"):  # (as stored: `change_log` is a view)
    frames[t] = src.sql(f"SELECT * FROM {t} WHERE run_id = ?", params=[run_id]).to_arrow_table()
frames["selection_member"] = src.sql(
    "SELECT m.* FROM selection_member m JOIN selection s USING (selection_id) "
    "WHERE s.run_id = ?", params=[run_id]).to_arrow_table()
# (the staging tables as stored: a view over another is not written)
from transforms.store.sql import STORED_STAGING_TABLES
staged = src.sql(STORED_STAGING_TABLES).fetchall()
for (t,) in staged:
    frames[f"staging.{t}"] = src.sql(f"SELECT * FROM staging.{t} WHERE run_id = ?",
                                     params=[run_id]).to_arrow_table()
src.close()
start = time.perf_counter()
con = duckdb.connect(target)
con.execute("SET enable_progress_bar = false")  # (stdout is the result)
con.execute("BEGIN")
for name, rows in frames.items():
    con.from_arrow(rows).query("f", f"INSERT INTO {name} SELECT * FROM f")
con.execute("COMMIT")
con.close()
print(json.dumps({"seconds": time.perf_counter() - start,
                  "rows": sum(f.num_rows for f in frames.values()),
                  "tables": {name: f.num_rows for name, f in frames.items() if f.num_rows}}))
"""

# the CRM's persons as dlt's target table first (not timed): a merge into a populated table
DLT_SEED = """
import sys, dlt, duckdb
db = sys.argv[1]
con = duckdb.connect(db)
existing = con.sql("SELECT p.first_name AS \\"First name\\", p.last_name AS \\"Last name\\", "
                       "lower(e.address) AS \\"Email\\" FROM person p JOIN email e "
                       "ON e.owner_kind = 'person' AND e.owner_id = p.person_id").pl().to_arrow()
con.close()
pipe = dlt.pipeline(pipeline_name="bench", destination=dlt.destinations.duckdb(db),
                    dataset_name="crm", pipelines_dir=sys.argv[2])
pipe.run(existing, table_name="person", write_disposition="merge", primary_key="email")
"""

DLT_MERGE = """
import sys, dlt, polars as pl
path, db = sys.argv[1], sys.argv[2]
df = pl.read_csv(path, infer_schema=False).with_columns(pl.col("Email").str.to_lowercase())
pipe = dlt.pipeline(pipeline_name="bench", destination=dlt.destinations.duckdb(db),
                    dataset_name="crm", pipelines_dir=sys.argv[3])
pipe.run(df.to_arrow(), table_name="person", write_disposition="merge", primary_key="email")
print(df.height)
"""


def to_postgres(crm: Path, server: str) -> str:
    """A fresh database on the server holding a copy of the benchmark CRM; its URL."""
    import duckdb
    import psycopg

    from flows.config import open_crm

    name = f"crm_bench_{os.getpid()}"
    with psycopg.connect(f"{server.rstrip('/')}/postgres", autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}"')
        con.execute(f'CREATE DATABASE "{name}"')
    url = f"{server.rstrip('/')}/{name}"
    source = duckdb.connect(str(crm), read_only=True)
    with open_crm(url) as store, store.transaction():
        for t in ("company", "person", "phone", "email", "url", "list_item", "id_counter"):
            frame = source.sql(f"SELECT * FROM {t}").pl()
            if frame.height:
                store.register("bench_rows", frame)
                cols = ", ".join(f'"{c}"' for c in frame.columns)
                store.execute(f"INSERT INTO {t} ({cols}) SELECT {cols} FROM bench_rows")
        store.unregister_all()
    source.close()
    with psycopg.connect(url, autocommit=True) as con:
        con.execute("ANALYZE")
    return url


def measure(cmd: list[str], env: dict | None = None) -> dict:
    """Run `cmd` as the only child of a fresh interpreter: its wall time and peak RSS."""
    out = subprocess.run([sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True,
                         env=env, check=True)
    result = json.loads(out.stdout)
    if result["rc"] != 0:
        raise SystemExit(f"{' '.join(cmd[:3])} failed:\n{result['err']}")
    return result


def _dlt_available() -> bool:
    try:
        import dlt  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    ap.add_argument("--dry-run", action="store_true", help="measure the import's --dry-run")
    ap.add_argument("--no-suggest", action="store_true", help="[duplicates] suggest = false: "
                                                               "the import without suggestions")
    ap.add_argument("--json", action="store_true", help="print the results as one JSON object")
    ap.add_argument("--data", metavar="DIR", help="keep the generated file and CRM in DIR and "
                    "reuse them on the next run with the same --rows and --format")
    ap.add_argument("--chunk-rows", type=int, help="[import] chunk_rows for the import "
                    "(default: the setting's default)")
    ap.add_argument("--only", choices=["import", "floors"], help="measure only the import, or "
                    "only the floors (and dlt)")
    ap.add_argument("--pg", metavar="URL", help="also import into a PostgreSQL store: a server "
                    "URL (postgresql://user@host:port) where a database may be created")
    args = ap.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    cli = shutil.which("crm-import") or str(Path(sys.executable).parent / "crm-import")
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        kept = Path(args.data) / f"{args.rows}-{args.format}" if args.data else None
        source = kept or Path(tmp)
        file = source / f"contacts.{args.format}"
        crm = source / "crm.duckdb"
        if not (kept and (source / "done").exists()):
            source.mkdir(parents=True, exist_ok=True)
            rows, companies, persons = generate(args.rows)
            write_rows(rows, file, args.format)
            crm.unlink(missing_ok=True)
            prefill(crm, companies, persons)
            del rows, companies, persons
            if kept:
                (source / "done").touch()
        settings = Path(tmp) / "settings.toml"
        settings.write_text(SETTINGS + (f"[import]\nchunk_rows = {args.chunk_rows}\n"
                                        if args.chunk_rows else "")
                            + ("[duplicates]\nsuggest = false\n" if args.no_suggest else ""),
                            encoding="utf-8")
        made = time.perf_counter() - t

        def fresh(name: str) -> Path:
            copy = Path(tmp) / f"{name}.duckdb"
            shutil.copy(crm, copy)
            # (a CRM kept in --data by an older crm-import is migrated first, untimed: the
            # floors then write into the schema the import wrote into)
            subprocess.run([sys.executable, "-c", "import sys; from flows.config import "
                            "open_crm; open_crm(sys.argv[1]).close()", str(copy)], env=env,
                           check=True, capture_output=True)
            return copy

        results: dict[str, dict] = {}
        if args.only != "floors":
            imported = fresh("import")
            imp = measure([cli, "run", str(file), "--db", str(imported), "--settings",
                           str(settings), "--json", *(["--dry-run"] if args.dry_run else [])], env)
            summary = json.loads(imp["out"])
            results["import"] = imp | {"summary": {k: summary[k] for k in (
                "status", "rows", "company", "person", "chunks", "timings") if k in summary}}
            if not args.dry_run:
                out = subprocess.run([sys.executable, "-c", WRITE_FLOOR, str(imported), str(crm),
                                      str(fresh("writes")), summary["run_id"]], env=env,
                                     capture_output=True, text=True)
                if out.returncode:
                    raise SystemExit(f"write floor failed:\n{out.stderr[-2000:]}")
                writes = json.loads(out.stdout.strip().splitlines()[-1])
                # (the timed part only: reading what to write is not part of the floor)
                results["write floor"] = {"wall": writes["seconds"], "peak_mb": None,
                                          "rows_written": writes["rows"],
                                          "tables": writes["tables"]}
        if args.pg:
            pg = to_postgres(crm, args.pg)
            imp = measure([cli, "run", str(file), "--db", pg, "--settings", str(settings),
                           "--json", *(["--dry-run"] if args.dry_run else [])],
                          env | {"CRM_IMPORT_STAGING": str(Path(tmp) / "pg-staging.duckdb")})
            pg_summary = json.loads(imp["out"])
            results["import pg"] = imp | {"summary": {k: pg_summary[k] for k in (
                "status", "rows", "company", "person", "timings")}}
        if args.only != "import":
            results["read floor"] = measure([sys.executable, "-c", READ_FLOOR, str(file)], env)
            results["join floor"] = measure([sys.executable, "-c", JOIN_FLOOR, str(file),
                                             str(fresh("floor"))], env)
        if args.only != "import" and args.format == "csv" and _dlt_available():
            target, dlt_dir = fresh("dlt"), str(Path(tmp) / "dlt")
            subprocess.run([sys.executable, "-c", DLT_SEED, str(target), dlt_dir], env=env,
                           check=True, capture_output=True)
            results["dlt merge"] = measure([sys.executable, "-c", DLT_MERGE, str(file),
                                            str(target), dlt_dir], env)
    out = {"rows": args.rows, "format": args.format, "generated_s": round(made, 1),
           "results": {k: {"wall": round(v["wall"], 2),
                           "peak_mb": round(v["peak_mb"]) if v["peak_mb"] else None}
                       | ({"rows_written": v["rows_written"], "tables": v["tables"]}
                          if "rows_written" in v else {})
                       for k, v in results.items()},
           "stages": results["import"]["summary"]["timings"] if "import" in results else {},
           "summary": {k: v for k, v in results.get("import", {}).get("summary", {}).items()
                       if k != "timings"}}
    if "import pg" in results:
        out["stages pg"] = results["import pg"]["summary"]["timings"]
        # (the outcome; how the file was cut, `chunks`, is said by one of the two only)
        out["pg same outcome"] = all(results["import pg"]["summary"][k] == out["summary"][k]
                                     for k in ("status", "rows", "company", "person"))
    wall = results["import"]["wall"] if "import" in results else None
    out["ratios"] = {f"import/{k}": round(wall / v["wall"], 2)
                     for k, v in results.items() if k != "import" and wall}
    if args.json:
        print(json.dumps(out))
        return
    print(f"rows: {args.rows:,} ({args.format})   data generated in {made:.1f} s")
    for name, r in out["results"].items():
        if "rows_written" in r:
            print(f"  {name:<11} {r['wall']:8.2f} s   (the import's {r['rows_written']:,} "
                  f"inserted rows, {r['rows_written'] / args.rows:.2f} per row of the file, "
                  "written bare)")
            print("    rows written: " + ", ".join(f"{t} {n:,}" for t, n in sorted(
                r["tables"].items(), key=lambda item: -item[1])))
            continue
        print(f"  {name:<11} {r['wall']:8.2f} s   peak {r['peak_mb']:6,} MB   "
              f"{args.rows / max(r['wall'], 1e-9):>12,.0f} rows/s")
    print("  import stages: " + ", ".join(f"{k} {v:.2f}" for k, v in out["stages"].items()))
    if "stages pg" in out:
        print("  import pg stages: " + ", ".join(f"{k} {v:.2f}" for k, v in out["stages pg"].items())
              + f"   (same counts as DuckDB: {out['pg same outcome']})")
    print("  ratios: " + ", ".join(f"{k} {v:.2f}" for k, v in out["ratios"].items()))
    print("  summary: " + json.dumps(out["summary"]))


if __name__ == "__main__":
    main()
