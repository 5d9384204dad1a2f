"""Folder benchmark (not a test): `python -m tests.benchmarks.folder --files 20 --rows 25000`.

Writes a folder of FILES contact files of ROWS rows each (the generator of
`tests.benchmarks.run`, each file its own slice of people; `--format` csv, xlsx or vcard)
and imports it into copies of one CRM with `crm-import run DIR/`:

- `local`: the files one after the other in one process (no Prefect);
- `prefect threads`: the same through Prefect (a real server started here), the files
  prepared on a thread pool;
- `dask N`: through Prefect's DaskTaskRunner, a local cluster of N worker processes
  (`--workers`, default 2).

Prints the wall time of each and the speed-up of Dask over the local runner, and checks
that all of them land the same counts.
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


def _run(cli: str, folder: Path, db: Path, settings: Path, env: dict, *extra: str) -> tuple[float, dict]:
    t = time.perf_counter()
    done = subprocess.run([cli, "run", str(folder), "--db", str(db), "--settings", str(settings),
                           "--json", *extra], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(extra) or 'local'} failed:\n{done.stdout[-2000:]}\n"
                         f"{done.stderr[-3000:]}")
    batch = json.loads(done.stdout)
    return wall, {k: batch[k] for k in ("files", "rows", "company", "person")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=20)
    ap.add_argument("--rows", type=int, default=25_000, help="rows per file")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--format", choices=["csv", "xlsx", "vcard"], default="csv")
    args = ap.parse_args()
    from tests.prefectserver import PrefectServer

    cli = shutil.which("crm-import") or str(Path(sys.executable).parent / "crm-import")
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        rows, companies, persons = generate(args.files * args.rows)
        folder = tmp / "inbox"
        folder.mkdir()
        suffix = {"csv": "csv", "xlsx": "xlsx", "vcard": "vcf"}[args.format]
        for i in range(args.files):
            write_rows(rows.slice(i * args.rows, args.rows), folder / f"part{i:03}.{suffix}",
                       args.format)
        crm = tmp / "crm.duckdb"
        prefill(crm, companies, persons)
        settings = tmp / "settings.toml"
        settings.write_text(SETTINGS, encoding="utf-8")
        del rows, companies, persons

        def fresh(name: str) -> Path:
            copy = tmp / f"{name}.duckdb"
            shutil.copy(crm, copy)
            return copy

        server = PrefectServer(tmp / "prefect")
        (tmp / "prefect").mkdir()
        server.start()
        try:
            results = {"local": _run(cli, folder, fresh("local"), settings, base_env)}
            results["prefect threads"] = _run(cli, folder, fresh("threads"), settings,
                                              server.env(), "--runner", "local")
            results[f"dask {args.workers}"] = _run(cli, folder, fresh("dask"), settings,
                                                   server.env(), "--runner", "dask",
                                                   "--workers", str(args.workers))
        finally:
            server.stop()
    same = len({json.dumps(r[1], sort_keys=True) for r in results.values()}) == 1
    local = results["local"][0]
    print(f"{args.files} files × {args.rows:,} rows ({args.format}), {os.cpu_count()} cores")
    for name, (wall, _) in results.items():
        print(f"  {name:<16} {wall:7.1f} s   speed-up over local {local / wall:5.2f}×")
    print(f"  same counts everywhere: {same}   {json.dumps(results['local'][1])}")


if __name__ == "__main__":
    main()
