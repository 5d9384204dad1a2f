"""Benchmark of the contacts import (not a test): `python -m tests.benchmarks.contacts --rows N`.

Generates N contact rows (companies repeated across ~4 persons, Scandinavian names, phones
in mixed formats, leading-zero postcodes) and a CRM pre-filled with N/4 companies and N/2
persons, ~20% of which reappear in the file with formatting variants. The import (merge,
person match email, company match name) runs in a child process so its time and peak memory
are its own; printed: wall time per stage, rows/s, peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import polars as pl

FIRST = ["Ola", "Kari", "Per", "Ingrid", "Lars", "Anne", "Nils", "Eva", "Jonas", "Sofie",
         "Magnus", "Ida", "Erik", "Nora", "Henrik", "Maja", "Anders", "Liv", "Sven", "Astrid"]
LAST = ["Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Kristiansen",
        "Jensen", "Karlsen", "Berg", "Haugen", "Lund", "Dahl", "Solberg", "Eriksen", "Bakke",
        "Lie", "Nordmann", "Strand"]
CITIES = [("0150", "Oslo"), ("5003", "Bergen"), ("7010", "Trondheim"), ("9008", "Tromsø"),
          ("4006", "Stavanger"), ("0554", "Oslo"), ("1360", "Fornebu"), ("0001", "Oslo")]
SUFFIX = ["AS", "ASA", "Holding AS", "Consulting AS", "Handel AS", "& Sønn AS"]


def generate(n: int, seed: int = 7) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(import file rows, CRM companies, CRM persons+emails) as frames; vectorised."""
    i = pl.int_range(0, n, eager=True).alias("i")
    base = pl.DataFrame(i).with_columns(
        (pl.col("i") // 4).alias("c"),  # ~4 persons per company
        ((pl.col("i") * 7919 + seed) % 1000003).alias("h"),
    )
    city = pl.Series([c[1] for c in CITIES])
    post = pl.Series([c[0] for c in CITIES])
    rows = base.select(
        pl.format("{} {} {}", pl.lit("Firma"), pl.col("c"),
                  pl.lit(pl.Series(SUFFIX)).get(pl.col("c") % len(SUFFIX))).alias("Company"),
        pl.format("Gate {}", pl.col("c") % 200 + 1).alias("Address"),
        pl.lit(post).get(pl.col("c") % len(CITIES)).alias("Postcode"),
        pl.lit(city).get(pl.col("c") % len(CITIES)).alias("City"),
        pl.lit(pl.Series(FIRST)).get(pl.col("h") % len(FIRST)).alias("First name"),
        pl.lit(pl.Series(LAST)).get((pl.col("h") // 20) % len(LAST)).alias("Last name"),
        pl.format("p{}@firma{}.no", pl.col("i"), pl.col("c")).alias("Email"),
        # mixed formats of Norwegian mobiles: "+47 4xx xx xxx", "4xxxxxxx", "004 7…"
        pl.when(pl.col("i") % 3 == 0)
        .then(pl.format("+47 4{} {} {}", (pl.col("i") % 90 + 10), (pl.col("i") % 89 + 10),
                        (pl.col("i") % 900 + 100)))
        .when(pl.col("i") % 3 == 1)
        .then(pl.format("4{}", (pl.col("i") % 9_000_000 + 1_000_000)))
        .otherwise(pl.format("9{} {}", (pl.col("i") % 900 + 100), (pl.col("i") % 9000 + 1000)))
        .alias("Mobile"),
    )
    # CRM: N/4 companies; the first 20% of them are in the file (case/spacing variants there)
    n_comp = max(1, n // 4)
    companies = pl.DataFrame({"company_id": pl.int_range(1, n_comp + 1, eager=True)}).with_columns(
        pl.when(pl.col("company_id") <= n_comp // 5)
        .then(pl.format("FIRMA  {} {}", pl.col("company_id") - 1,
                        pl.lit(pl.Series(SUFFIX)).get((pl.col("company_id") - 1) % len(SUFFIX))
                        .str.to_uppercase()))
        .otherwise(pl.format("Eksisterende {} AS", pl.col("company_id"))).alias("name"),
        pl.lit(None, pl.String).alias("street"),
    )
    # CRM persons: N, of which the first 20% of the file's persons (same email, other case)
    n_pers = max(1, n)
    persons = pl.DataFrame({"person_id": pl.int_range(1, n_pers + 1, eager=True)}).with_columns(
        ((pl.col("person_id") - 1) // 4 + 1).clip(1, n_comp).alias("company_id"),
        pl.lit("Eksisterende").alias("first_name"),
        pl.format("Person {}", pl.col("person_id")).alias("last_name"),
        pl.when(pl.col("person_id") <= n // 5)
        .then(pl.format("P{}@FIRMA{}.NO", pl.col("person_id") - 1, (pl.col("person_id") - 1) // 4))
        .otherwise(pl.format("x{}@eksisterende.no", pl.col("person_id"))).alias("address"),
    )
    return rows, companies, persons


OUTLOOK_HEADERS = {"Company": "Company", "Address": "Business Street",
                   "Postcode": "Business Postal Code", "City": "Business City",
                   "First name": "First Name", "Last name": "Last Name",
                   "Email": "E-mail Address", "Mobile": "Mobile Phone"}


def write_rows(rows: pl.DataFrame, file: Path, fmt: str) -> None:
    if fmt == "csv":
        rows.write_csv(file)
    elif fmt == "xlsx":
        rows.write_excel(file)
    elif fmt == "outlook":
        rows.rename(OUTLOOK_HEADERS).write_csv(file, quote_style="always")
    else:  # one vCard 3.0 per row, CRLF lines, written by expressions
        cards = rows.select(pl.format(
            "BEGIN:VCARD\r\nVERSION:3.0\r\nN:{};{};;;\r\nFN:{} {}\r\nORG:{}\r\n"
            "EMAIL;TYPE=INTERNET,WORK:{}\r\nTEL;TYPE=CELL:{}\r\n"
            "ADR;TYPE=WORK:;;{};{};;{};\r\nEND:VCARD",
            "Last name", "First name", "First name", "Last name", "Company", "Email", "Mobile",
            "Address", "City", "Postcode").alias("card"))
        file.write_text("\r\n".join(cards["card"]) + "\r\n", encoding="utf-8")


def prefill(db: Path, companies: pl.DataFrame, persons: pl.DataFrame) -> None:
    from flows.config import open_crm

    with open_crm(str(db)) as store:
        store.register("c", companies)
        store.execute("INSERT INTO company (company_id, name, street) SELECT * FROM c")
        store.register("p", persons)
        store.execute("INSERT INTO person (person_id, company_id, first_name, last_name, "
                      "legal_basis, consent_source) SELECT person_id, company_id, first_name, "
                      "last_name, 'default', 'import' FROM p")
        store.execute("INSERT INTO email (email_id, owner_kind, owner_id, address, rank) "
                      "SELECT person_id, 'person', person_id, address, 1 FROM p")


class TimingReporter:
    def __init__(self) -> None:
        self.times: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str):
        t = time.perf_counter()
        yield
        self.times[name] = round(time.perf_counter() - t, 3)

    def summary(self, summary) -> None:
        pass

    def rejects(self, rejects) -> None:
        pass

    def warnings(self, warnings) -> None:
        pass


def child(file: str, db: str) -> None:
    """The measured import, in its own process."""
    t0 = time.perf_counter()
    from contracts.settings import parse_settings
    from flows.pipeline import ImportRequest, import_contacts

    imported = time.perf_counter() - t0
    rep = TimingReporter()
    settings = parse_settings({"person": {"match": "email"}, "company": {"match": "name"}})
    t = time.perf_counter()
    s = import_contacts(ImportRequest(file=file, db=db, settings=settings), report=rep)
    wall = time.perf_counter() - t
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"wall": round(wall, 3), "imports": round(imported, 3), "stages": rep.times,
                      "peak_mb": round(peak_mb), "summary": {k: s[k] for k in (
                          "status", "rows", "company", "person")}}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--format", choices=["csv", "xlsx", "outlook", "vcard"], default="csv",
                    help="the same rows as a plain CSV, a workbook, an Outlook CSV export or "
                         "a vCard 3.0 file")
    ap.add_argument("--child", nargs=2, metavar=("FILE", "DB"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        rows, companies, persons = generate(args.rows)
        suffix = {"outlook": "csv", "vcard": "vcf"}.get(args.format, args.format)
        file = Path(tmp) / f"contacts.{suffix}"
        write_rows(rows, file, args.format)
        db = Path(tmp) / "crm.duckdb"
        prefill(db, companies, persons)
        print(f"generated {args.rows} rows and a CRM of {companies.height} companies / "
              f"{persons.height} persons in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        out = subprocess.run([sys.executable, "-m", "tests.benchmarks.contacts", "--child",
                              str(file), str(db)], capture_output=True, text=True, check=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
    rate = args.rows / result["wall"]
    print(f"rows: {args.rows} ({args.format})   wall: {result['wall']:.2f} s   "
          f"rows/s: {rate:,.0f}   peak RSS: {result['peak_mb']} MB   "
          f"(imports before the run: {result['imports']:.2f} s)")
    for stage, secs in result["stages"].items():
        print(f"  {stage:<16} {secs:8.3f} s")
    print("summary:", json.dumps(result["summary"]))


if __name__ == "__main__":
    main()
