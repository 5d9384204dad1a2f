"""Possible duplicates: pairs of records that probably are one, with a score and the
evidence. Never applied by an import; exact keys decide what an import matches.

Fellegi–Sunter, as Splink does it, on DuckDB:
1. **Blocking**: candidate pairs come only from SQL equi-joins on cheap keys (same e-mail,
   same phone, same phonetic surname and birth date, same postcode and birth date, first and
   last name swapped …), never from all pairs.
2. **Comparisons**: each field pair falls in a level (exact, similar by Jaro–Winkler, …,
   different, or null: no evidence). Each level has an m probability (how often true
   duplicates land there) and a u probability (how often different records do); it adds
   log2(m/u) to the pair's weight.
3. **Score**: the weight with the prior odds, as a probability in 0–1.

The m/u values are documented in `PERSON` and `COMPANY` below and in docs/DUPLICATES.md,
with the measurements that chose them (`python -m tests.benchmarks.duplicates`).
The frame-building here is the same for the CRM (`crm-import duplicates`) and for the
benchmark's labelled sets.
"""

from __future__ import annotations

import math
import re
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import duckdb
import polars as pl

from transforms.normalise import digits_key, email_key, full_name, text_key, unicode_form
from transforms.scratch import scratch_folder
from transforms.store.base import CrmStore
from transforms.store.duckdb_store import as_arrow

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from transforms.plan import Plan

# letters that are one letter elsewhere: folded before names are compared (Ærø → aero)
FOLD = {"æ": "ae", "ø": "o", "å": "a", "ä": "a", "ö": "o", "ü": "u", "ð": "d", "þ": "th",
        "ł": "l", "œ": "oe"}
LEGAL_FORMS = ("as", "asa", "a/s", "aps", "ab", "oy", "oyj", "gmbh", "ag", "kg", "ltd",
               "limited", "inc", "incorporated", "corp", "corporation", "co", "llc", "plc",
               "bv", "b.v.", "nv", "n.v.", "sa", "s.a.", "sarl", "srl", "spa", "sas", "ug",
               "ks", "da", "ans", "sl", "kft", "sp", "z", "oo", "company")


def fold(expr: pl.Expr) -> pl.Expr:
    """Casefolded, accents and Nordic letters folded, only letters, digits and spaces."""
    out = (unicode_form(text_key(expr), "NFKD").str.replace_all(r"\p{M}", "")
           .str.replace_many(list(FOLD), list(FOLD.values())))
    return (out.str.replace_all(r"[^\p{L}\p{N} ]", " ").str.replace_all(r" {2,}", " ")
            .str.strip_chars().replace("", None))


# a street's last part written out or cut short, one way, at the end of a word or as one:
# Norwegian, Swedish, Danish and German streets are one word ("Storgata 5" = "Storgt. 5",
# "Hauptstraße 3" = "Hauptstr. 3", "Vestre gate 3" = "Vestre gt. 3")
STREET_ENDINGS = {"veien": "vn", "vegen": "vn", "vei": "vn", "veg": "vn", "vej": "vn",
                  "gata": "gt", "gaten": "gt", "gatan": "gt", "gate": "gt", "strasse": "str",
                  "strase": "str"}
# a street's words, one way (after `fold`): "3001 W. 59th Street" = "3001 w 59th st"
STREET_WORDS = {"street": "st", "avenue": "ave", "av": "ave", "road": "rd", "drive": "dr",
                "boulevard": "blvd", "court": "ct", "place": "pl", "lane": "ln",
                "square": "sq", "highway": "hwy", "parkway": "pkwy", "terrace": "tce",
                "crescent": "cres", "circle": "cir", "north": "n", "south": "s", "east": "e",
                "west": "w", **STREET_ENDINGS}


def street_key(folded: pl.Expr) -> pl.Expr:
    """A folded street with its words one way (STREET_WORDS, STREET_ENDINGS) and a floor
    or suite left out ("2141 South Tan Court 1st Floor" = "2141 S Tan Ct")."""
    out = folded.str.replace_all(r"\b\d+(st|nd|rd|th)? (floor|fl)\b|\b(floor|fl|suite|ste) "
                                 r"\w+\b", "")
    # (each word marked where it stands, then all replaced in one pass)
    for table, at in ((STREET_ENDINGS, r"\B"), (STREET_WORDS, r"\b")):
        listed = "|".join(sorted(table, key=len, reverse=True))
        out = out.str.replace_all(rf"{at}({listed})\b", "\u0001$1\u0001").str.replace_many(
            [f"\u0001{long}\u0001" for long in table], list(table.values()))
    return out.str.replace_all(r" {2,}", " ").str.strip_chars().replace("", None)


def house_number(street: pl.Expr) -> pl.Expr:
    """A street's house number: its first number (after `street_key`, a floor or suite is
    no longer one)."""
    return street.str.extract(r"(\d+)", 1)


def sound(expr: pl.Expr) -> pl.Expr:
    """A crude phonetic key for blocking: the first letter, then the consonants with like
    sounds made one (c/k/q, s/z, d/t, b/p, v/w/f, g/j), doubles collapsed, 4 long."""
    w = expr.str.replace_all(" ", "", literal=True)
    # (one pass each: a name a company, 500,000 of them took 0.45 s in 20 passes)
    rest = (w.str.slice(1).str.replace_many(list(_SOUNDS), list(_SOUNDS.values()))
            .str.replace_all(r"[aeiouyh]", ""))
    # a double made one: no backreferences in polars' regex, so a group a consonant, and
    # the one that matched is the only one not empty
    doubles = "|".join(f"({c}){c}+" for c in _DOUBLED)
    rest = rest.str.replace_all(doubles, "".join(f"${{{i}}}" for i in range(1, len(_DOUBLED) + 1)))
    return pl.concat_str([w.str.slice(0, 1), rest]).str.slice(0, 4)


_SOUNDS = {"ph": "f", "c": "k", "q": "k", "z": "s", "d": "t", "b": "p", "v": "f", "w": "f",
           "j": "g"}
_DOUBLED = "kstpfglmnrx"


@dataclass(frozen=True)
class Level:
    label: str  # what the evidence says ("exact", "similar", …)
    when: str  # SQL over the pair (a.<col>, b.<col>), the first level that holds
    m: float  # P(this level | a duplicate)
    u: float  # P(this level | different records)
    # term frequency: SQL giving the share of records with this value (`tf` columns of the
    # frame), used as u where larger (two "Hansen" agree by chance far more often than two
    # "Skjelbred")
    tf: str | None = None

    @property
    def weight(self) -> str:
        if self.tf:
            return f"log2({self.m!r} / greatest({self.tf}, {self.u!r}))"
        return repr(math.log2(self.m / self.u))


@dataclass(frozen=True)
class Comparison:
    name: str  # the evidence's key
    null: str  # SQL: no evidence (a value is missing on either side)
    levels: tuple[Level, ...]  # the last is "different" (when: TRUE)
    show: str | None = None  # SQL: a similarity shown beside the level


@dataclass(frozen=True)
class Model:
    entity: str
    comparisons: tuple[Comparison, ...]
    blocking: tuple[str, ...]  # SQL join conditions over a, b
    # P(a candidate pair is a duplicate), before any evidence, among up to TF_BASE records;
    # among more, its odds fall as they grow (`prior_odds`)
    prior: float

    @property
    def tf_terms(self) -> list[tuple[str, str]]:
        """The term frequencies the levels read, as (column, counted among): `a.<col>_tf`,
        the share of records whose `col` is a's (col, col); `a.<col>_as_<other>_tf`, the
        share whose `other` is a's `col` (col, other) — a first name as a last name."""
        found = (re.findall(r"a\.(\w+?)(?:_as_(\w+))?_tf\b", level.tf) for c in self.comparisons
                 for level in c.levels if level.tf)
        return list(dict.fromkeys((col, other or col) for terms in found
                                  for col, other in terms))

    @property
    def blocking_sides(self) -> list[tuple[list[str], list[str]]]:
        """Each blocking rule's columns: (a's, b's), in the order of its equalities."""
        sides = [re.findall(r"a\.(\w+) = b\.(\w+)", rule) for rule in self.blocking]
        return [([x for x, _ in pairs], [y for _, y in pairs]) for pairs in sides]


def _jw(col: str) -> str:
    return f"jaro_winkler_similarity(a.{col}, b.{col})"


# first and last name swapped, as they stand or alike (each in both names' comparisons:
# the first weighs it, the last counts it as nothing, one piece of evidence)
_SWAPPED = "a.first = b.last AND a.last = b.first"
_SWAPPED_ALIKE = ("jaro_winkler_similarity(a.first, b.last) >= 0.92 AND "
                  "jaro_winkler_similarity(a.last, b.first) >= 0.92")
# how often a random record bears a's names swapped: a's first name as a last name times
# its last as a first — or, whichever record of the pair is a, its names as they stand
# (read from a alone, "Moen Ingrid" against "Ingrid Moen" scored 0.9996 with nothing else
# agreeing: no one is named Moen first, so a swap of it looked unheard of)
_SWAPPED_TF = "greatest(a.first_tf * a.last_tf, a.first_as_last_tf * a.last_as_first_tf)"


# one name as the other's other name, the other names different ("Bryce Dixon" and
# "Reece Bryce"): as common as a's first name is as a last name, or its last as a first
_ONE_SWAPPED = "a.first = b.last OR a.last = b.first"
_ONE_SWAPPED_TF = "a.first_as_last_tf + a.last_as_first_tf"


PERSON = Model(
    entity="person",
    comparisons=(
        # (an exact name's u is its share of the records, at least 1 in 50,000: a name
        # unique among millions says much, not all)
        Comparison("first_name", "a.first IS NULL OR b.first IS NULL", (
            Level("exact", "a.first = b.first", 0.82, 0.00002, tf="a.first_tf"),
            Level("swapped with last", _SWAPPED, 0.03, 0.0000004, tf=_SWAPPED_TF),
            Level("swapped with last, similar", _SWAPPED_ALIKE, 0.01, 0.00001, tf=_SWAPPED_TF),
            Level("similar", f"{_jw('first')} >= 0.92", 0.09, 0.004),
            Level("one name swapped", _ONE_SWAPPED, 0.02, 0.00002, tf=_ONE_SWAPPED_TF),
            Level("initial", "a.first[1] = b.first[1] AND (length(a.first) = 1 OR "
                  "length(b.first) = 1)", 0.02, 0.01),
            Level("alike", f"{_jw('first')} >= 0.80", 0.02, 0.03),
            Level("different", "TRUE", 0.01, 0.9565)), show=_jw("first")),
        Comparison("last_name", "a.last IS NULL OR b.last IS NULL", (
            Level("exact", "a.last = b.last", 0.84, 0.00002, tf="a.last_tf"),
            # (counted once, by first_name: it is one piece of evidence)
            Level("swapped with first", _SWAPPED, 1.0, 1.0),
            Level("swapped with first, similar", _SWAPPED_ALIKE, 1.0, 1.0),
            Level("similar", f"{_jw('last')} >= 0.92", 0.08, 0.003),
            Level("one name swapped", _ONE_SWAPPED, 1.0, 1.0),
            Level("alike", f"{_jw('last')} >= 0.80", 0.03, 0.02),
            Level("different", "TRUE", 0.01, 0.975)), show=_jw("last")),
        Comparison("birth_date", "a.born IS NULL OR b.born IS NULL", (
            # (one day of 55 years: two records born on one day by chance)
            Level("exact", "a.born = b.born", 0.85, 0.00005),
            Level("day and month swapped", "year(a.born) = year(b.born) AND month(a.born) = "
                  "day(b.born) AND day(a.born) = month(b.born)", 0.02, 0.00005),
            Level("one part differs", "(year(a.born) = year(b.born))::INT + (month(a.born) = "
                  "month(b.born))::INT + (day(a.born) = day(b.born))::INT = 2", 0.1, 0.01),
            Level("different", "TRUE", 0.03, 0.98945))),
        # where they live, one piece of evidence: a street names its postcode and city
        Comparison("address", "(a.postcode IS NULL OR b.postcode IS NULL) AND "
                   "(a.city IS NULL OR b.city IS NULL) AND "
                   "(a.street IS NULL OR b.street IS NULL)", (
            Level("same street and number", "a.street = b.street AND (a.postcode = b.postcode "
                  "OR a.city = b.city OR a.postcode IS NULL OR b.postcode IS NULL)", 0.65,
                  0.0003, tf="a.street_tf"),
            Level("similar street, same place", f"{_jw('street')} >= 0.88 AND a.house IS NOT "
                  "DISTINCT FROM b.house AND (a.postcode = b.postcode OR a.city = b.city)",
                  0.1, 0.0005),
            Level("same street, a number missing", "a.street_name = b.street_name AND "
                  "(a.house IS NULL OR b.house IS NULL) AND (a.postcode = b.postcode OR "
                  "a.city = b.city)", 0.04, 0.0005, tf="a.street_name_tf * a.postcode_tf"),
            # (both streets given and not alike, as a move within a postcode or a street
            # garbled: 18–23% of FEBRL's true pairs, none of the generated `crm` set's,
            # where namesakes of one postcode are many)
            Level("same postcode, another street", "a.postcode = b.postcode AND a.street IS "
                  "NOT NULL AND b.street IS NOT NULL", 0.05, 0.0005, tf="a.postcode_tf"),
            Level("same postcode", "a.postcode = b.postcode", 0.1, 0.0005, tf="a.postcode_tf"),
            Level("same city", "a.city = b.city", 0.03, 0.0005, tf="a.city_tf"),
            Level("postcode one digit off", "length(a.postcode) = length(b.postcode) AND "
                  "hamming(a.postcode, b.postcode) = 1", 0.03, 0.02),
            Level("similar street or city", f"({_jw('street')} >= 0.88 AND a.house IS NOT "
                  f"DISTINCT FROM b.house) OR {_jw('city')} >= 0.9", 0.03, 0.01),
            Level("different", "TRUE", 0.01, 0.97)), show=_jw("street")),
        Comparison("company", "a.company IS NULL OR b.company IS NULL", (
            Level("same", "a.company = b.company", 0.7, 0.001, tf="a.company_tf"),
            Level("different", "TRUE", 0.3, 0.999))),
        Comparison("email", "a.email IS NULL OR b.email IS NULL", (
            Level("exact", "a.email = b.email", 0.7, 0.0001),
            Level("same local part", "a.email_local = b.email_local", 0.15, 0.0005),
            Level("different", "TRUE", 0.15, 0.9994))),
        Comparison("phone", "a.phone IS NULL OR b.phone IS NULL", (
            Level("exact", "a.phone = b.phone", 0.7, 0.0002),
            Level("different", "TRUE", 0.3, 0.9998))),
    ),
    blocking=(
        "a.email = b.email", "a.phone = b.phone",
        "a.last_sound = b.last_sound AND a.born = b.born",
        "a.postcode = b.postcode AND a.born = b.born",
        "a.postcode = b.postcode AND a.last_sound = b.last_sound",
        "a.postcode = b.postcode AND a.first_sound = b.first_sound",
        _SWAPPED,
        "a.first = b.first AND a.born = b.born",
        "a.street_name = b.street_name AND a.house = b.house AND a.last_sound = b.last_sound",
        "a.last = b.last AND a.first_sound = b.first_sound AND a.city = b.city",
        "a.born = b.born AND a.house = b.house",
        "a.postcode = b.postcode AND a.house = b.house",
        "a.city = b.city AND a.born = b.born",
        "a.first_sound = b.last_sound AND a.born = b.born",
        "a.first_sound = b.last_sound AND a.postcode = b.postcode",
        "a.company = b.company AND a.first_sound = b.first_sound",
        "a.company = b.company AND a.last_sound = b.last_sound",
    ),
    prior=0.05,
)


TF_BASE = 1000  # records a term frequency (and the prior) is counted against at least


def prior_odds(model: Model, records: int) -> float:
    """log2 of the prior odds that a candidate pair among `records` is one record.
    `model.prior` among up to TF_BASE records; among more, the odds fall as the records
    grow: a record meets namesakes by chance as often as there are records, while its own
    duplicates stay as few — and the weights' term frequencies are shares, the same in a
    CRM of 2,000 and of 2 million. (Splink learns it as the chance that two random records
    match; a fixed prior scored two namesakes of one town 0.998 among 200,000 records.)"""
    return math.log2(model.prior / (1 - model.prior) * TF_BASE / max(records, TF_BASE))


def term(column: str, among: str) -> str:
    """The name of a term frequency (`Model.tf_terms`) without its `_tf`."""
    return column if column == among else f"{column}_as_{among}"


def _tf(count: pl.Expr, name: str, total: int | None) -> pl.Expr:
    """`<name>_tf`, the share of records, from the count of records with the value.
    Counted against at least TF_BASE records: in a CRM of 50, two records of one name are
    more likely one person than a name every fourth record bears. `total`: the records of
    the whole CRM, where the frame holds only those near some new ones (and every record
    with their values)."""
    base = pl.max_horizontal(pl.lit(total) if total else pl.len(), pl.lit(TF_BASE))
    return (count / base).alias(f"{name}_tf")


def _by_value(frame: pl.DataFrame, column: str, derived: dict[str, pl.Expr]) -> pl.DataFrame:
    """`derived` (expressions of `column`) worked out once per distinct value and joined
    back, `column` dropped: names, streets and cities repeat, and folding them is the
    costly part."""
    values = frame.select(pl.col(column).unique()).with_columns(**derived)
    return frame.join(values, on=column, how="left", nulls_equal=True).drop(column)


def person_values(raw: pl.DataFrame) -> pl.DataFrame:
    """id, first_name, middle_name, last_name, birth_date, street, postcode, city, email,
    phone, company_id, company_name (any may be missing) → the normalised columns the model
    compares, all but the term frequencies (`with_tf` adds those)."""
    def col(name: str, dtype: Any = pl.String) -> pl.Expr:
        return (pl.col(name) if name in raw.columns else pl.lit(None)).cast(dtype)

    frame = raw.select(
        pl.col("id").cast(pl.Int64), col("first_name").alias("_first"),
        col("last_name").alias("_last"), col("birth_date", pl.Date).alias("born"),
        col("street").alias("_street"),
        col("postcode").str.replace_all(r"\s", "").str.to_lowercase().replace("", None)
        .alias("postcode"),
        col("city").alias("_city"), email_key(col("email")).alias("email"),
        digits_key(col("phone")).alias("phone"),
        # a company named after the person (`create_company` makes one for a person without
        # company) says no more than their name: two John Smiths in one such are no evidence
        pl.when(col("company_name").str.to_lowercase()
                == full_name(col("first_name"), col("middle_name"), col("last_name"))
                .str.to_lowercase()).then(None)
        .otherwise(col("company_id", pl.Int64)).alias("company"))
    # (the part before the @, worked out once a record: split in SQL, a pair at a time,
    # it cost 0.6 s of the 1M-row benchmark's scoring)
    frame = frame.with_columns(pl.col("email").str.split("@").list.first().alias("email_local"))
    for part in ("first", "last"):
        folded = fold(pl.col(f"_{part}"))
        frame = _by_value(frame, f"_{part}", {part: folded, f"{part}_sound": sound(folded)})
    street = street_key(fold(pl.col("_street")))
    frame = _by_value(frame, "_street", {
        "street": street,
        "street_name": street.str.replace_all(r"\d+[a-z]?", "").str.strip_chars()
        .replace("", None),
        "house": house_number(street)})
    return _by_value(frame, "_city", {"city": fold(pl.col("_city"))})


def _token_set(col: str) -> str:
    """Token-set similarity: shared words / all words ("acme norge" ~ "norge acme")."""
    a, b = f"string_split(a.{col}, ' ')", f"string_split(b.{col}, ' ')"
    return (f"len(list_intersect({a}, {b})) / greatest(len(list_distinct(list_concat({a}, "
            f"{b}))), 1)")


COMPANY = Model(
    entity="company",
    comparisons=(
        Comparison("name", "a.core IS NULL OR b.core IS NULL", (
            Level("exact", "a.core = b.core", 0.75, 0.0002, tf="a.core_tf"),
            Level("same words", "a.core_sorted = b.core_sorted", 0.06, 0.0002),
            Level("most words", f"{_token_set('core')} >= 0.66", 0.08, 0.003),
            Level("one name within the other", "len(list_intersect(string_split(a.core, ' '), "
                  "string_split(b.core, ' '))) = least(len(string_split(a.core, ' ')), "
                  "len(string_split(b.core, ' ')))", 0.05, 0.002),
            # (by its letters, not only its start: Jaro–Winkler puts "Erie Neighborhood
            # House FCCH-Maria Mahecha Site" and "… FCCH-Silveria Cruz Site" at 0.92)
            Level("similar", f"{_jw('core')} >= 0.92 AND levenshtein(a.core, b.core) <= "
                  "greatest(length(a.core), length(b.core)) // 8", 0.05, 0.003),
            # (two businesses at one address, behind one switchboard, are two businesses)
            Level("different", "TRUE", 0.0005, 0.9936)), show=_jw("core")),
        Comparison("orgnr", "a.orgnr IS NULL OR b.orgnr IS NULL", (
            Level("exact", "a.orgnr = b.orgnr", 0.999, 0.00001),
            # (two companies of one name with different org numbers are two companies: a
            # typo in one is rare, and outweighs the name and the address together)
            Level("different", "TRUE", 0.001, 0.99999))),
        Comparison("address", "(a.postcode IS NULL OR b.postcode IS NULL) AND "
                   "(a.city IS NULL OR b.city IS NULL) AND "
                   "(a.street IS NULL OR b.street IS NULL)", (
            Level("same street and number", "a.street = b.street", 0.6, 0.0005,
                  tf="a.street_tf"),
            Level("similar street, same number", f"a.house = b.house AND {_jw('street')} >= 0.88",
                  0.1, 0.0005),
            # (both streets given and not alike: sites of one chain or agency in one postcode
            # are not one site — 60 of Chicago's 5,516 true pairs against 4,404 false)
            Level("another street", "a.street IS NOT NULL AND b.street IS NOT NULL", 0.08,
                  0.9),
            Level("same postcode", "a.postcode = b.postcode", 0.2, 0.002, tf="a.postcode_tf"),
            Level("same city", "a.city = b.city", 0.1, 0.01, tf="a.city_tf"),
            Level("different", "TRUE", 0.1, 0.988))),
        Comparison("email_domain", "a.domain IS NULL OR b.domain IS NULL", (
            Level("exact", "a.domain = b.domain", 0.6, 0.0005, tf="a.domain_tf"),
            Level("different", "TRUE", 0.4, 0.9995))),
        Comparison("phone", "a.phone IS NULL OR b.phone IS NULL", (
            # (an agency's switchboard answers for its many sites: shared by many, it says
            # less — Chicago's 4322213 stands for 14 family child-care homes)
            Level("exact", "a.phone = b.phone", 0.6, 0.001, tf="a.phone_tf"),
            Level("different", "TRUE", 0.4, 0.999))),
    ),
    blocking=(
        "a.orgnr = b.orgnr", "a.phone = b.phone", "a.core = b.core",
        "a.core_sorted = b.core_sorted",
        "a.first_word = b.first_word AND a.postcode = b.postcode",
        "a.first_word = b.first_word AND a.city = b.city",
        "a.first_word = b.first_word AND a.domain = b.domain",
        "a.core_sound = b.core_sound AND a.postcode = b.postcode",
    ),
    prior=0.05,
)


def company_values(raw: pl.DataFrame) -> pl.DataFrame:
    """id, name, orgnr, street, postcode, city, email, phone → what the model compares, all
    but the term frequencies (`with_tf` adds those). The name's core: folded, legal forms
    (AS, A/S, GmbH, Ltd …) left out."""
    def col(name: str) -> pl.Expr:
        return (pl.col(name) if name in raw.columns else pl.lit(None)).cast(pl.String)

    legal = "|".join(f.replace(".", "") .replace("/", "") for f in LEGAL_FORMS)
    # (A/S → as, B.V. → bv, Sp. z o.o. → sp z oo: the forms as one word before folding)
    name = fold(pl.col("_name").str.replace_all(r"(?i)\ba/s\b", "as")
                .str.replace_all(".", "", literal=True))
    core = (name.str.replace_all(rf"\b({legal})\b", "").str.replace_all(r" {2,}", " ")
            .str.strip_chars().replace("", None))
    core = pl.coalesce(core, name)  # ("AS Eiendom": the name is more than its form)
    frame = raw.select(
        pl.col("id").cast(pl.Int64), col("name").alias("_name"),
        digits_key(col("orgnr")).alias("orgnr"), col("street").alias("_street"),
        col("postcode").str.replace_all(r"\s", "").str.to_lowercase().replace("", None)
        .alias("postcode"),
        col("city").alias("_city"),
        email_key(col("email")).str.extract(r"@(.+)$", 1).alias("domain"),
        digits_key(col("phone")).alias("phone"))
    # (company names are mostly distinct: worked out in place, not per value)
    frame = frame.with_columns(core.alias("core")).drop("_name").with_columns(
        # (sorted by `list.eval`: `list.sort` took twice as long)
        pl.col("core").str.split(" ").list.eval(pl.element().sort()).list.join(" ")
        .alias("core_sorted"),
        pl.col("core").str.extract(r"^(\S+)", 1).alias("first_word"),
        sound(pl.col("core")).alias("core_sound"))
    street = street_key(fold(pl.col("_street")))
    frame = _by_value(frame, "_street", {"street": street,
                                         "house": house_number(street)})
    return _by_value(frame, "_city", {"city": fold(pl.col("_city"))})


MODELS = {"person": (PERSON, person_values), "company": (COMPANY, company_values)}


def with_tf(values: pl.DataFrame, model: Model, total: int | None = None) -> pl.DataFrame:
    """Normalised values with the term frequencies `model`'s weights read (`<col>_tf`,
    `<col>_as_<other>_tf`: `Model.tf_terms`)."""
    for col, among in model.tf_terms:
        name = term(col, among)
        if col == among:
            values = values.with_columns(_tf(pl.len().over(col), name, total))
            continue
        counts = values.group_by(among).len("_n").rename({among: col})
        values = (values.join(counts, on=col, how="left", maintain_order="left")
                  .with_columns(_tf(pl.col("_n").fill_null(0), name, total)).drop("_n"))
    return values


def person_frame(raw: pl.DataFrame, total: int | None = None) -> pl.DataFrame:
    return with_tf(person_values(raw), PERSON, total)


def company_frame(raw: pl.DataFrame, total: int | None = None) -> pl.DataFrame:
    return with_tf(company_values(raw), COMPANY, total)


_FIELDS = {"person": ("first_name", "middle_name", "last_name", "birth_date", "street",
                      "postcode", "city", "company_id"),
           "company": ("name", "orgnr", "street", "postcode", "city")}


def crm_records(store: CrmStore, entity: str, ids: pl.Series | None = None) -> pl.DataFrame:
    """The CRM's persons or companies with the fields the model compares (a record's first
    e-mail and phone). `ids`: only these records (`Suggester._near`), not the whole CRM."""
    table = "person" if entity == "person" else "company"
    only = f" WHERE r.{table}_id IN (SELECT v FROM wanted)" if ids is not None else ""
    # (the e-mails and phones of the records read, not of the whole CRM)
    mine = " AND owner_id IN (SELECT id FROM r)" if only else ""
    # (a person's company by its name too: one named after them is no evidence, `person_values`)
    named = (", (SELECT c.name FROM company c WHERE c.company_id = r.company_id) AS company_name"
             if entity == "person" else "")
    sql = (f"WITH r AS (SELECT r.{table}_id AS id, "
           f"{', '.join('r.' + c for c in _FIELDS[entity])}{named} FROM {table} r{only}) "
           "SELECT r.*, e.address AS email, p.number_e164 AS phone FROM r "
           "LEFT JOIN (SELECT owner_id, min(address) AS address FROM email "
           f"WHERE owner_kind = ?{mine} GROUP BY owner_id) e ON e.owner_id = r.id "
           "LEFT JOIN (SELECT owner_id, min(coalesce(number_e164, number)) AS number_e164 "
           f"FROM phone WHERE owner_kind = ?{mine} GROUP BY owner_id) p ON p.owner_id = r.id")
    if ids is not None:
        store.register("wanted", pl.DataFrame({"v": ids.cast(pl.Int64)}))
    try:
        return store.query(sql, [table, table])
    finally:
        if ids is not None:
            store.unregister_all()


def near_keys(store: CrmStore, entity: str, lo: int, hi: int) -> pl.DataFrame:
    """(id, h) of the CRM records of ids lo..hi: a hash of each of their plain values
    (`_NEAR`), every e-mail and phone of theirs among them."""
    sql, params = _near_values(entity, _crm_records_by(entity, lo, hi))
    return _hashed(store.query(sql, params))


def near_hashes(store: CrmStore, entity: str, records: pl.DataFrame) -> pl.DataFrame:
    """(id, h) of `records` (a run's, with the columns `_NEAR` reads, or some of them): a
    hash of each of their plain values, spelled by the store as the CRM's are."""
    with _run_values(store, entity, records) as mine:
        return _hashed(store.query(mine))


def near_ids(store: CrmStore, entity: str, records: pl.DataFrame, lo: int, hi: int
             ) -> pl.Series:
    """The ids of the CRM records of ids lo..hi that share a plain value (`_NEAR`) with
    `records` (a run's), looked up in the CRM in one query: what a run that looks them up
    at most NEAR_LOOKUPS times does (a file in one piece: hashing the whole CRM's values
    would cost it more)."""
    crm, params = _near_values(entity, _crm_records_by(entity, lo, hi))
    with _run_values(store, entity, records) as mine:
        found = store.query(f"WITH m AS ({mine}) SELECT DISTINCT c.id FROM ({crm}) c WHERE "
                            "EXISTS (SELECT 1 FROM m WHERE m.k = c.k AND m.v = c.v) "
                            "ORDER BY c.id", params)
    return found["id"].cast(pl.Int64)


@contextmanager
def _run_values(store: CrmStore, entity: str, records: pl.DataFrame) -> Iterator[str]:
    """SQL of (id, k, v), the plain values of a run's `records`, registered in the store
    (with every column `_NEAR` reads, as text; a missing one empty) while it is used."""
    store.register("near_mine", records.select(pl.col("id").cast(pl.Int64), *[
        (pl.col(c) if c in records.columns else pl.lit(None)).cast(pl.String).alias(c)
        for c in dict.fromkeys(column for _, column, _ in _NEAR[entity])]))
    try:
        yield _near_values(entity, lambda column: (
            f"(SELECT id, {column} FROM near_mine)", []))[0]
    finally:
        store.unregister_all()


# A record's plain values: what another must share with it for any blocking rule to pair
# them (a postcode, a birth date, a name or its first word, a company, an org number, an
# e-mail, a phone). Each kind is SQL over `r` (a record's id and one column), run by the
# store on both sides — the CRM's records and a run's, registered — so that one rule in one
# engine spells a value alike on both. (No city: every rule that joins on it also joins on
# a name, a birth date or a word of the name, which are here; a city alone would bring in
# half the CRM.)
_NEAR: dict[str, tuple[tuple[str, str, str], ...]] = {  # entity → (kind, column, SQL)
    "person": (
        ("postcode", "postcode", "replace(lower(r.postcode), ' ', '')"),
        ("email", "email", "lower(r.email)"), ("phone", "phone", "r.phone"),
        ("born", "birth_date", "CAST(r.birth_date AS VARCHAR)"),
        ("company", "company_id", "CAST(r.company_id AS VARCHAR)"),
        ("name", "first_name", "lower(trim(r.first_name))"),
        ("name", "last_name", "lower(trim(r.last_name))")),
    "company": (
        ("postcode", "postcode", "replace(lower(r.postcode), ' ', '')"),
        ("email", "email", "lower(r.email)"), ("phone", "phone", "r.phone"),
        ("word", "name", "split_part(lower(trim(r.name)), ' ', 1)"),
        ("orgnr", "orgnr", "regexp_replace(r.orgnr, '[^0-9]', '', 'g')")),
}
_NEAR_KINDS = ("postcode", "email", "phone", "born", "company", "name", "word", "orgnr")
NEAR_SEED = 20  # (any seed: both sides' hashes are made in the same process)
NEAR_SLICE = 1_000_000  # CRM ids read at a time to hash their values
# a run that looks up near records more often than this (a chunk at a time) hashes the
# CRM's values once instead: at 10M CRM persons, a lookup took ~2.5 s, hashing all ~9 s
NEAR_LOOKUPS = 3


def _near_values(entity: str, relation: Callable[[str], tuple[str, list[Any]]]
                 ) -> tuple[str, list[Any]]:
    """SQL (and its parameters) of (id, k, v): each plain value v of kind k (its place in
    _NEAR_KINDS) of the records `relation` gives by column; no value, no row (a missing one
    shares nothing)."""
    parts, params = [], []
    for kind, column, value in _NEAR[entity]:
        source, bound = relation(column)
        parts.append(f"SELECT id, k, v FROM (SELECT r.id, {_NEAR_KINDS.index(kind)} AS k, "
                     f"{value} AS v FROM {source} r) n WHERE v <> ''")
        params += bound
    return " UNION ALL ".join(parts), params


def _crm_records_by(entity: str, lo: int, hi: int
                    ) -> Callable[[str], tuple[str, list[Any]]]:
    """The CRM's records of ids lo..hi by column (id and it): an e-mail or phone of any
    rank, a field of the record's own."""
    table = "person" if entity == "person" else "company"

    def relation(column: str) -> tuple[str, list[Any]]:
        if column in ("email", "phone"):
            stored = "address" if column == "email" else "number_e164"
            return (f"(SELECT owner_id AS id, {stored} AS {column} FROM {column} WHERE "
                    "owner_kind = ? AND owner_id BETWEEN ? AND ?)", [table, lo, hi])
        return (f"(SELECT {table}_id AS id, {column} FROM {table} WHERE {table}_id BETWEEN "
                "? AND ?)", [lo, hi])
    return relation


def _hashed(values: pl.DataFrame) -> pl.DataFrame:
    """(id, h) of (id, k, v): a hash two values share only if alike and of one kind (a
    hash two share by chance only reads one record more)."""
    return values.select(pl.col("id").cast(pl.Int64), pl.struct(
        pl.col("k").cast(pl.Int8), pl.col("v").cast(pl.String)).hash(NEAR_SEED).alias("h"))


def crm_pairs(store: CrmStore, entity: str, *, min_score: float,
              run_id: str | None = None) -> pl.DataFrame:
    """Likely duplicate pairs across the CRM (or involving a run's records), best first."""
    model, values_of = MODELS[entity]
    only = None
    if run_id is not None:
        only = store.query("SELECT DISTINCT entity_id FROM change_log WHERE run_id = ? AND "
                           "entity = ?", [run_id, entity])["entity_id"]
    pairs = score_pairs(with_tf(values_of(crm_records(store, entity)), model),
                        model, min_score=min_score, only=only)
    kept = store.query("SELECT a, b FROM duplicate_decision WHERE entity = ? AND decision = "
                       "'keep both'", [entity])  # (a person looked and kept them apart)
    return pairs.join(kept.cast(pl.Int64), on=["a", "b"], how="anti", maintain_order="left")


SUGGESTION_SCHEMA = pl.Schema({"source_row": pl.Int64, "entity": pl.String,
                               "candidate_id": pl.Int64, "candidate_row": pl.Int64,
                               "score": pl.Float64, "evidence": pl.String})


class Suggester:
    """Possible duplicates of the companies and persons one run creates: each new record
    against the CRM as it was before the run and against every other new record of the run.

    A plan (a file, or a chunk of one) at a time, `add` normalises its new records and the
    CRM records near them into a scratch folder — each CRM record once a run, however many
    chunks it is near (at 1M rows in 4 chunks, the same 133,623 CRM persons were near each).
    `scored` then scores one chunk at a time (the memory of a chunk), each against the CRM
    near it and the new records of the chunks before it.
    A blocking key's block and a value's term frequency are counted over the whole run (the
    CRM near it and every new record) before any is scored, so a run in chunks pairs and
    scores exactly what the same file in one piece would: a mobile number on 111 rows of a
    file spread over 4 chunks blocks nothing, as it does in one piece (counted a chunk at
    a time, its 28 rows a chunk made pairs). A preview and a run suggest the same. Never
    applied."""

    def __init__(self, store: CrmStore, *, min_score: float, lookups: int = 1):
        self.store = store
        self.min_score = min_score
        self.lookups = lookups  # how many plans `add` will be given (`_near`)
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self._made = {"person": 0, "company": 0}  # new records so far: ids -1, -2 …
        self._firms = 0  # new companies so far, as persons' companies (`_add`)
        # scratch files by entity: a chunk's new records, normalised; the ids of the CRM
        # records near it; the CRM records read so far, normalised, each in one file; the
        # hashed plain values of the CRM's records (`_near`)
        self._files: dict[str, dict[str, list[str]]] = {
            kind: {"person": [], "company": []} for kind in ("new", "near", "crm", "keys")}
        self._keyed: set[str] = set()  # entities whose CRM values are hashed
        self._read: dict[str, pl.Series] = {}  # entity → the CRM ids in its crm files
        # entity → (first id, last id, records) of the CRM before the run
        self._before: dict[str, tuple[int, int, int]] = {}

    def suggest(self, plan: Plan) -> pl.DataFrame:
        """A whole file's suggestions: `add(plan)`, then `scored()`."""
        self.add(plan)
        return self.scored()

    def add(self, plan: Plan) -> None:
        """The plan's new records, with the CRM records near them, normalised and kept."""
        for entity, entity_plan in plan.entities.items():
            new = entity_plan.decisions.filter(pl.col("outcome") == "new")
            if not new.is_empty():
                self._add(plan, entity, new)

    def scored(self) -> pl.DataFrame:
        """SUGGESTION_SCHEMA, one row a pair, on the new record's first row: the candidate
        a CRM record (`candidate_id`) or another new record of the run (`candidate_row`,
        its first row). What was added is then forgotten."""
        out = [pl.DataFrame(schema=SUGGESTION_SCHEMA)]
        for entity in ("person", "company"):
            if parts := self._files["new"][entity]:
                model = MODELS[entity][0]
                total = self._before[entity][2] + self._made[entity]
                big, tf = self._counted(model, parts, self._files["crm"][entity], total,
                                        spill=f"{self._scratch_dir}/spill")
                out.extend(self._score(entity, model, piece, big, tf, total)
                           for piece in self._pieces(parts))
            for files in self._files.values():
                files[entity] = []
            self._read.pop(entity, None)
            self._keyed.discard(entity)
        return pl.concat(out, how="vertical_relaxed").cast(SUGGESTION_SCHEMA)

    def _add(self, plan: Plan, entity: str, new: pl.DataFrame) -> None:
        values_of = MODELS[entity][1]
        if entity not in self._before:  # (before anything of this run is loaded)
            table = "person" if entity == "person" else "company"
            first, last, n = self.store.query(
                f"SELECT coalesce(min({table}_id), 1) AS first, coalesce(max({table}_id), 0) "
                f"AS last, count(*) AS n FROM {table}").row(0)
            self._before[entity] = (int(first), int(last), int(n))
        made = self._made[entity]
        # a new record's id here: -1, -2 … (CRM ids are positive; a < b puts the new first)
        new = new.with_columns((-pl.int_range(made + 1, made + pl.len() + 1)).alias("id"))
        # a new record's first e-mail and phone: rank 1, since a new owner's values rank
        # 1, 2 … in file order (`rank_values`; sorting every value by rank to take the
        # first cost 0.3 s a chunk of 250,000 rows)
        firsts = plan.value_inserts.filter(pl.col("owner_kind") == entity, pl.col("rank") == 1)
        for table in ("email", "phone"):
            new = new.join(firsts.filter(pl.col("table") == table).select(
                "group", pl.coalesce("e164", "key").alias(table)), on="group", how="left")
        if entity == "person" and "_cgroup" in new.columns:
            # a person's company: its CRM id, or one of the run's for a company the run
            # makes (-1, -2 …), so that two new persons at one new company are at the same
            # company here as in the CRM afterwards (`crm-import duplicates`). A company
            # and its persons are in one chunk (`transforms.chunks`), so a chunk's ids
            # are the whole file's.
            decisions = plan.company.decisions
            firm_made = decisions["outcome"] == "new"
            companies = decisions.select(
                pl.col("group").alias("_cgroup"),
                pl.when(firm_made).then(-self._firms - firm_made.cast(pl.Int64).cum_sum())
                .otherwise(pl.col("crm_id")).alias("person_company_id"),
                (pl.col("company_name") if "company_name" in decisions.columns
                 else pl.lit(None, pl.String)).alias("person_company_name"))
            new = new.join(companies, on="_cgroup", how="left")
            self._firms += int(firm_made.sum())
        prefix = f"{entity}_"
        fields = {c.removeprefix(prefix): pl.col(c) for c in new.columns
                  if c.startswith(prefix)}
        mine = new.select("id", *[e.alias(n) for n, e in fields.items()],
                          "email", "phone")
        near = self._near(entity, mine)
        read = self._read.get(entity, near.clear())
        if not (unread := near.filter(~near.is_in(read.implode()))).is_empty():
            self._keep("crm", entity, values_of(_dated(
                crm_records(self.store, entity, ids=unread))))
            self._read[entity] = pl.concat([read, unread])
        self._keep("near", entity, near.to_frame("id"))
        rows = new.select("id", pl.col("first_row").cast(pl.Int64))
        self._keep("new", entity, values_of(_dated(mine)).join(rows, on="id"))
        self._made[entity] += new.height

    def _near(self, entity: str, mine: pl.DataFrame) -> pl.Series:
        """The ids of the CRM records (as it was before the run) that share a plain value
        with `mine` (`_NEAR`), found without reading the rest of the CRM: looked up in the
        CRM (`near_ids`) by a run that does so at most NEAR_LOOKUPS times; else its values
        are read and hashed once a run into the scratch folder (`near_keys`), and each
        chunk's looked up there — at 10M rows, looking them up in the CRM for each of 40
        chunks took 2.5 s a chunk (92 s of 367)."""
        first, last, _ = self._before[entity]  # (not the records this run makes)
        if self.lookups <= NEAR_LOOKUPS:
            return near_ids(self.store, entity, mine, first, last)
        if entity not in self._keyed:
            for lo in range(first, last + 1, NEAR_SLICE):
                self._keep("keys", entity,
                           near_keys(self.store, entity, lo, min(lo + NEAR_SLICE - 1, last)))
            self._keyed.add(entity)
        wanted = near_hashes(self.store, entity, mine)["h"].unique()
        if not (files := self._files["keys"][entity]) or wanted.is_empty():
            return pl.Series("id", [], pl.Int64)
        return (pl.scan_parquet(files).filter(pl.col("h").is_in(wanted.implode()))
                .select("id").unique().sort("id").collect(engine="streaming")["id"])

    @property
    def _scratch_dir(self) -> str:
        if self._scratch is None:
            self._scratch = scratch_folder("suggest")
        return self._scratch.name

    def _keep(self, kind: str, entity: str, frame: pl.DataFrame) -> None:
        """Into the scratch folder, a file of `kind` (new, near, crm)."""
        files = self._files[kind][entity]
        files.append(f"{self._scratch_dir}/{entity}-{kind}-{len(files)}.parquet")
        frame.write_parquet(files[-1], compression="lz4")

    @staticmethod
    def _counted(model: Model, new: list[str], crm: list[str], total: int, *, spill: str
                 ) -> tuple[dict[tuple[str, ...], pl.DataFrame], list[pl.DataFrame]]:
        """Counted over the whole run (its new records and the CRM records near them, each
        once), before any chunk is scored: the blocking keys more than MAX_BLOCK records
        share (columns → key values), and each term frequency the weights read (a frame
        of value, `<col>_tf`). The same counts a whole file in one piece gets. `spill`:
        DuckDB's folder for what exceeds its memory (never the user's working folder)."""
        con = duckdb.connect(config={"memory_limit": SCORE_MEMORY, "temp_directory": spill})
        try:
            present = set(pl.read_parquet_schema(new[0]))
            # (read from the files by each count, never all held: a table of the 10M-row
            # run's records took 4 s and most of the 1 GB)
            con.read_parquet([*new, *crm], union_by_name=True).create_view("run_records")
            big = _big_blocks(con, "run_records", model, present)
            tf = []
            for col, among in model.tf_terms:
                # (a missing value too is a value here, as `with_tf` counts it; a value as
                # another column's only where there is one, as `with_tf` joins it)
                where = "" if col == among else f"WHERE {among} IS NOT NULL "
                counts = con.sql(f"SELECT {among} AS {col}, count(*) AS n FROM run_records "
                                 f"{where}GROUP BY {among}").to_arrow_table()
                tf.append(pl.DataFrame(counts).select(
                    col, _tf(pl.col("n"), term(col, among), total)))
            return big, tf
        finally:
            con.close()

    @staticmethod
    def _pieces(parts: list[str]) -> list[range]:
        """The chunks' new-record files in runs of up to SCORE_PIECE records, each run
        scored in one piece: scoring costs much by the piece (at 1M rows, the four chunks
        of 250,000 scored one by one took 4 s longer than in one piece)."""
        pieces, start, held = [], 0, 0
        for k, part in enumerate(parts):
            n = pl.scan_parquet(part).select(pl.len()).collect().item()
            if held and held + n > SCORE_PIECE:
                pieces.append(range(start, k))
                start, held = k, 0
            held += n
        return [*pieces, range(start, len(parts))]

    def _score(self, entity: str, model: Model, piece: range,
               big: dict[tuple[str, ...], pl.DataFrame], tf: list[pl.DataFrame], total: int
               ) -> pl.DataFrame:
        """The pairs of the new records of the chunks in `piece`: with the CRM near them,
        each other, and the new records of the chunks before (a pair with a later chunk is
        that one's). Only the records some blocking rule can pair with the piece's are read
        (at 10M rows, 1.3M CRM records were near each chunk of 250,000). `total`: the
        records of the CRM and the run, which the pairs are among (`prior_odds`)."""
        new = self._files["new"][entity]
        mine = pl.read_parquet(new[piece.start:piece.stop])
        both = pl.concat([mine, self._pairable(model, mine, self._files["crm"][entity], big),
                          self._pairable(model, mine, new[:piece.start], big)],
                         how="diagonal_relaxed")
        pairs = score_pairs(both.drop("first_row"), model, min_score=self.min_score,
                            only=mine["id"], big=big, tf=tf, records=total)
        first_rows = both.select("id", "first_row").drop_nulls()
        return (pairs.join(first_rows.rename({"id": "a", "first_row": "source_row"}), on="a")
                .join(first_rows.rename({"id": "b", "first_row": "candidate_row"}), on="b",
                      how="left")
                .select("source_row", pl.lit(entity).alias("entity"),
                        pl.when(pl.col("b") > 0).then(pl.col("b")).alias("candidate_id"),
                        "candidate_row", "score", "evidence"))

    @staticmethod
    def _pairable(model: Model, mine: pl.DataFrame, files: list[str],
                  big: dict[tuple[str, ...], pl.DataFrame]) -> pl.DataFrame:
        """The records of `files` some blocking rule could pair with `mine`: those sharing
        a key that is not one of the run's `big` ones (however many share one of those — a
        mobile number on 370 rows of a 10M file — they are not read). Whatever else they
        share adds no pair: every record of a block that can pair is here."""
        if not files:
            return mine.clear()
        kept = pl.scan_parquet(files)
        # (read a row group at a time: never all of them held; and a rule at a time: all
        # rules' reads in one query held 0.3 GB more at the top of a 10M import's memory)
        shares = []
        for left, right in model.blocking_sides:
            for x, y in {(tuple(left), tuple(right)), (tuple(right), tuple(left))}:
                keys = mine.select(pl.col(a).alias(b) for a, b in zip(x, y, strict=True)
                                   ).drop_nulls().unique()
                if y in big:
                    keys = keys.join(big[y], on=list(y), how="anti")
                if not keys.is_empty():  # (a key the new records lack: nothing to match)
                    # (joined by the keys' hashes: all rules' joins run at once, and their
                    # tables of a 1M-record piece's names, streets … took 0.9 GB at 10M; a
                    # hash two keys share by chance only reads one record more)
                    hashed = pl.struct(*y).hash(NEAR_SEED).alias("h")
                    shares.append(kept.select("id", *y).drop_nulls(list(y))
                                  .select("id", hashed)
                                  .join(keys.lazy().select(hashed).unique(), on="h", how="semi")
                                  .select("id").collect(engine="streaming")["id"])
        if not shares:
            return mine.clear()
        ids = pl.concat(shares).unique()
        return kept.filter(pl.col("id").is_in(ids.implode())).collect(engine="streaming")

    def close(self) -> None:
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None


def _dated(raw: pl.DataFrame) -> pl.DataFrame:
    """birth_date as a date, whether read from the CRM (a date) or planned (text)."""
    if "birth_date" not in raw.columns:
        return raw
    return raw.with_columns(pl.col("birth_date").cast(pl.String).str.to_date(strict=False))


MAX_BLOCK = 50  # records one blocking key may gather; a larger block is no evidence
SCORE_MEMORY = "1GB"  # DuckDB's memory for scoring (a 10M-row import took 6.7 GB unbounded)
SCORE_PIECE = 1_000_000  # new records scored in one piece, at most (unless a chunk has more)


def _big_blocks(con: duckdb.DuckDBPyConnection, table: str, model: Model,
                present: set[str]) -> dict[tuple[str, ...], pl.DataFrame]:
    """The blocking keys more than MAX_BLOCK records of `table` share (columns → key
    values), for each rule's columns that `present` has."""
    big = {}
    for cols in {tuple(cols) for side in model.blocking_sides for cols in side}:
        if not set(cols) <= present:
            continue
        listed = ", ".join(cols)
        keyed = " AND ".join(c + " IS NOT NULL" for c in cols)
        # (counted by the keys' hashes first, then only the keys of the big hashes by
        # value: a 10M-row run's e-mails counted by value took most of the 1 GB)
        found = pl.DataFrame(con.sql(
            f"SELECT {listed} FROM {table} WHERE {keyed} AND hash({listed}) IN (SELECT "
            f"hash({listed}) FROM {table} WHERE {keyed} GROUP BY ALL HAVING count(*) > "
            f"{MAX_BLOCK}) GROUP BY {listed} HAVING count(*) > {MAX_BLOCK}").to_arrow_table())
        if found.height:
            big[cols] = found
    return big


def _block(left: list[str], right: list[str], big: dict[tuple[str, ...], str]) -> str:
    """The candidate pairs of one blocking rule (a.left = b.right, column by column) between the
    records of `chosen` and all `records`, (a, b) with a < b. A key value more than MAX_BLOCK
    records share ("Ola Hansen, Oslo") blocks nothing by this rule: its pairs are
    all-against-all and say little (Splink's advice likewise); other rules still reach its
    records. `big`: columns → the flag of a record whose key by them blocks nothing
    (counted over `records`, or over more records than those: a whole run's)."""

    def side(table: str, cols: list[str]) -> str:
        """`table`'s records with a key by `cols`, but for one of the big ones"""
        keyed = [f"r.{c} IS NOT NULL" for c in cols]
        if flag := big.get(tuple(cols)):
            keyed.append(f"NOT r.{flag}")
        return (f"(SELECT r.id, r._mine, {', '.join('r.' + c for c in cols)} FROM {table} r "
                f"WHERE {' AND '.join(keyed)})")

    out = []
    # (a symmetric rule finds a pair from either end: one direction is enough; a pair of
    # two chosen records is found from its smaller id only, as the whole CRM's are)
    for mine, other in [(left, right)] if left == right else [(left, right), (right, left)]:
        on = " AND ".join(f"a.{p} = b.{q}" for p, q in zip(mine, other, strict=True))
        out.append("SELECT least(a.id, b.id) AS a, greatest(a.id, b.id) AS b FROM "
                   f"{side('chosen', mine)} a JOIN {side('records', other)} b ON {on} AND "
                   "a.id <> b.id AND (a.id < b.id OR NOT b._mine)")
    return " UNION ".join(out)


def _level(c: Comparison, shown: dict[str, str]) -> str:
    """The comparison's level as a number: 0 no evidence, 1 the first level that holds …
    `shown`: the similarities worked out once a pair (SQL → the column holding it)."""
    whens = []
    for i, level in enumerate(c.levels, 1):
        when = level.when
        for sql, column in shown.items():
            when = when.replace(sql, column)
        whens.append(f"WHEN {when} THEN {i}")
    return f"CASE WHEN {c.null} THEN 0 {' '.join(whens)} END::UTINYINT"


def _weight(c: Comparison, column: str) -> str:
    """The weight of the level in `column`; the term frequencies read from `a`."""
    whens = " ".join(f"WHEN {i} THEN {level.weight}" for i, level in enumerate(c.levels, 1))
    return f"CASE {column} WHEN 0 THEN 0.0 {whens} END"


def _evidence(model: Model) -> pl.Expr:
    """{"first_name": "similar", "first_name_similarity": 0.93, …}: what was compared, from
    the levels (`l_<name>`) and similarities (`s_<name>`); no evidence, no entry."""
    entries = []
    for c in model.comparisons:
        labels = {i: f'"{c.name}": "{level.label}"' for i, level in enumerate(c.levels, 1)}
        entries.append(pl.col(f"l_{c.name}").replace_strict(labels, default=None,
                                                            return_dtype=pl.String))
        if c.show:
            entries.append(pl.when(pl.col(f"l_{c.name}") > 0).then(
                pl.format(f'"{c.name}_similarity": {{}}', pl.col(f"s_{c.name}"))))
    return pl.concat_str(pl.lit("{"), pl.concat_str(entries, separator=", ", ignore_nulls=True),
                         pl.lit("}"))


def score_pairs(frame: pl.DataFrame, model: Model, *, min_score: float,
                only: pl.Series | None = None,
                big: dict[tuple[str, ...], pl.DataFrame] | None = None,
                tf: list[pl.DataFrame] | None = None, records: int | None = None
                ) -> pl.DataFrame:
    """(a, b, score, evidence) of the likely duplicate pairs among `frame`'s records,
    a < b, each pair once, best first. `only`: pairs involving these ids. `big`: blocking
    keys (columns → values) that more than MAX_BLOCK records outside the frame share.
    `tf`: the term frequencies the weights read (frames of value, `<term>_tf`:
    `Model.tf_terms`), counted outside the frame; else the frame's own `_tf` columns.
    `records`: how many the pairs are among (the prior, `prior_odds`), where the frame
    holds only those near some; else the frame's."""
    # (its spill files in a folder of the system's, gone after: never the user's cwd; a
    # limit on its memory, or DuckDB takes up to 80% of the machine's before it spills)
    spill = scratch_folder("duplicates")
    con = duckdb.connect(config={"temp_directory": spill.name, "memory_limit": SCORE_MEMORY})
    try:
        if big is None:  # (the blocks of the frame's own records)
            con.register("plain", as_arrow(frame))
            big = _big_blocks(con, "plain", model, set(frame.columns))
            con.unregister("plain")
        # flags read in the scan, where joins would be planned: `_mine`, a record whose
        # pairs are wanted (a table of the chosen records copied every column: 0.43 s of the
        # 1M benchmark's 2.8 s); `_big_<i>`, a record whose key by big's i-th columns
        # blocks nothing (an ANTI JOIN in the blocking, which DuckDB may plan after the
        # pairs' join: 4.4 billion rows for the 1M benchmark's companies, tried with the
        # chosen records as a view)
        mine = pl.lit(True) if only is None else pl.col("id").is_in(only.cast(pl.Int64).implode())
        known = {cols: f"_big_{i}" for i, cols in enumerate(big)}
        flags = [pl.struct(*cols).is_in(pl.struct(values.select(cols)).implode()).alias(known[cols])
                 for cols, values in big.items()]
        con.register("records", as_arrow(frame.with_columns(mine.alias("_mine"), *flags)))
        con.execute("CREATE VIEW chosen AS SELECT * FROM records WHERE _mine")
        candidates = " UNION ".join(_block(left, right, known)
                                    for left, right in model.blocking_sides)
        # (a similarity shown beside a level is worked out once a pair, by a LATERAL join,
        # and the levels read it: DuckDB works out each call of a CASE anew — the three
        # Jaro–Winklers of a name took 2.6× one)
        shown = {c.show: f"sim.s_{c.name}" for c in model.comparisons if c.show}
        similarities = ", ".join(f"{c.show} AS s_{c.name}" for c in model.comparisons
                                 if c.show)
        levels = ", ".join(f"{_level(c, shown)} AS l_{c.name}" + (
            f", round({shown[c.show]}, 3) AS s_{c.name}" if c.show else "")
            for c in model.comparisons)
        weights = " + ".join(_weight(c, f"l_{c.name}") for c in model.comparisons)
        prior = prior_odds(model, frame.height if records is None else records)
        # (each level worked out once; `a` below is the pair with its first record's term
        # frequencies, which the weights read)
        tfs = [c for c in frame.columns if c.endswith("_tf")]
        a_records = "records"
        if tf:  # (joined here, by DuckDB: joined to the frame by polars, each copied it)
            joins, freqs = [], []
            for i, counts in enumerate(tf):
                value, freq = counts.columns
                con.register(f"tf_{i}", as_arrow(counts))
                joins.append(f"LEFT JOIN tf_{i} ON tf_{i}.{value} IS NOT DISTINCT FROM "
                             f"r.{value}")
                freqs.append(f"tf_{i}.{freq}")
                tfs.append(freq)
            a_records = f"(SELECT r.*, {', '.join(freqs)} FROM records r {' '.join(joins)})"
        kept = ", ".join(["a", "b"] + [f"{p}_{c.name}" for c in model.comparisons
                                       for p in ("l", "s") if p == "l" or c.show])
        # (the candidate pairs made a table first: counted, they are joined to the records
        # the cheap way round — planned from an estimate of a tenth of them, DuckDB built
        # its hash table on the pairs with a's columns, 3.8 s of the 6.5 s at 1M persons)
        con.execute(f"CREATE TEMP TABLE pairs AS {candidates}")
        sql = (f"SELECT {kept}, score FROM ("
               f"SELECT *, 1 / (1 + pow(2, -({weights} + {prior!r}))) AS score FROM ("
               f"SELECT p.a, p.b, {levels}{''.join(f', a.{c}' for c in tfs)} FROM pairs p "
               f"JOIN {a_records} a ON a.id = p.a JOIN records b ON b.id = p.b"
               f"{f', LATERAL (SELECT {similarities}) sim' if shown else ''}) a) "
               f"WHERE score >= ? ORDER BY score DESC, a, b")
        out = pl.DataFrame(con.sql(sql, params=[min_score]).to_arrow_table())
    finally:
        con.close()
        spill.cleanup()
    return out.select("a", "b", pl.col("score").round(4), _evidence(model).alias("evidence"))
