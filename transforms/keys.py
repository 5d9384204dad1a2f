"""Match keys as expressions: the table in `contracts.keys`, made into Polars expressions
for the file's rows and for the CRM's values (the same normaliser on both sides, so both
compare on identical keys).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from contracts.keys import MatchKey, match_key
from transforms import normalise as nz

Exprs = list[pl.Expr]


def _text_with(parts: Exprs) -> pl.Expr:
    """"name | department": the second part may be empty, the first may not."""
    first = nz.text_key(parts[0])
    return pl.when(first.is_not_null()).then(
        pl.concat_str([first, nz.text_key(parts[1]).fill_null("")], separator=" | "))


def _text_both(parts: Exprs) -> pl.Expr:
    """"name | code": both parts needed."""
    a, b = nz.text_key(parts[0]), nz.text_key(parts[1])
    return pl.when(a.is_not_null() & b.is_not_null()).then(
        pl.concat_str([a, b], separator=" | "))


def _stripped(parts: Exprs) -> pl.Expr:
    return parts[0].cast(pl.String).str.strip_chars().replace("", None)


@dataclass(frozen=True)
class Normaliser:
    """file: the key over the file's columns (given as columns of the canonical frame);
    crm: the key over the CRM's columns; valid: a file value that can be a key (None: any
    value that is there can)."""
    file: Callable[[list[str], Callable[[str], pl.Expr]], pl.Expr]
    crm: Callable[[Exprs], pl.Expr]
    valid: Callable[[list[str], Callable[[str], pl.Expr]], pl.Expr] | None = None


def _over(fn: Callable[[Exprs], pl.Expr]) -> Callable[[list[str], Callable[[str], pl.Expr]], pl.Expr]:
    return lambda cols, col: fn([col(c) for c in cols])


# `<column>__key` is the validated key of an e-mail or phone column (`transforms.validate`:
# the libraries run once per unique value there)
def _validated(cols: list[str], col: Callable[[str], pl.Expr]) -> pl.Expr:
    return col(f"{cols[0]}__key")


NORMALISERS: dict[str, Normaliser] = {
    "text": Normaliser(_over(lambda p: nz.text_key(p[0])), lambda p: nz.text_key(p[0])),
    "text_with": Normaliser(_over(_text_with), _text_with),
    "text_both": Normaliser(_over(_text_both), _text_both),
    "digits": Normaliser(_over(lambda p: nz.digits_key(p[0])), lambda p: nz.digits_key(p[0]),
                         valid=_over(lambda p: nz.digits_key(p[0]).is_not_null())),
    "id": Normaliser(_over(_stripped), _stripped,
                     valid=_over(lambda p: nz.is_crm_id(p[0]))),
    "person_name": Normaliser(_over(lambda p: nz.person_name_key(p[0], p[1])),
                              lambda p: nz.person_name_key(p[0], p[1])),
    "email": Normaliser(_validated, lambda p: nz.email_key(p[0]),
                        valid=lambda cols, col: _validated(cols, col).is_not_null()),
    "phone": Normaliser(_validated, lambda p: nz.phone_key(p[0], p[1]),  # number_e164, number
                        valid=lambda cols, col: _validated(cols, col).is_not_null()),
    "none": Normaliser(lambda cols, col: pl.lit(None, pl.String),
                       lambda p: pl.lit(None, pl.String)),
}


def _column(names: set[str]) -> Callable[[str], pl.Expr]:
    return lambda n: pl.col(n) if n in names else pl.lit(None, pl.String)


def file_key(key: MatchKey, names: set[str]) -> pl.Expr:
    """The key of each row of the canonical frame (null: the row cannot match)."""
    return NORMALISERS[key.normaliser].file(list(key.columns), _column(names))


def crm_key(key: MatchKey) -> pl.Expr:
    """The key over the CRM's columns (`key.crm.columns`, as read from the CRM)."""
    assert key.crm is not None
    return NORMALISERS[key.normaliser].crm([pl.col(c) for c in key.crm.columns])


def told_apart(key: MatchKey, names: set[str]) -> bool:
    """Whether the file's rows (columns `names`) hold the value that tells records of the
    key apart (`MatchKey.apart`)."""
    return key.apart is not None and key.apart[0] in names


def file_apart(key: MatchKey) -> pl.Expr:
    """The value that tells the row's record apart from others of its key value (a key
    `told_apart` in the file). Validated first (`transforms.validate`: a birth date as ISO
    text), so it compares with `crm_apart`."""
    assert key.apart is not None
    return pl.col(key.apart[0]).cast(pl.String)


def crm_apart(key: MatchKey, names: set[str]) -> pl.Expr:
    """The CRM side of `file_apart`, over the CRM's record columns (`names`)."""
    if key.apart is None or key.apart[1] not in names:
        return pl.lit(None, pl.String)
    return pl.col(key.apart[1]).cast(pl.String)


def invalid_value(key: MatchKey, names: set[str]) -> pl.Expr | None:
    """Rows whose value for the key is there but cannot be a key (None: no such rule, or
    the file lacks the column)."""
    valid = NORMALISERS[key.normaliser].valid
    present = [c for c in key.columns if c in names]
    if key.invalid is None or valid is None or not present:
        return None
    return pl.col(present[0]).is_not_null() & ~valid(list(key.columns), _column(names)).fill_null(False)


def file_scope(key: MatchKey, company: pl.Expr) -> pl.Expr:
    """Which records a key is compared within: a company-scoped key (a person's name) within
    its company (`company`: the row's company, null for none), any other everywhere."""
    return company.fill_null("none") if key.scope == "company" else pl.lit("any")


def crm_scope(key: MatchKey) -> pl.Expr:
    """The CRM side of `file_scope` (a CRM key read with `company_id` as `_scope`)."""
    return (pl.col("_scope").cast(pl.String).fill_null("none") if key.scope == "company"
            else pl.lit("any"))


def product_key(match: str, names: set[str]) -> pl.Expr:
    return file_key(match_key("product", match), names)


def required_columns(entity: str, match: str) -> tuple[str, ...]:
    """The columns a file needs (one of them) to match `entity` on `match`."""
    return match_key(entity, match).needs


def is_global(entity: str, match: str) -> bool:
    """A key that finds a record anywhere in the CRM (not within a company), and so can find
    a CRM person whatever company the file gives it."""
    key = match_key(entity, match)
    return key.crm is not None and key.scope == "global"


# --- ordered match keys (SPEC §3 "Ordered match keys") ------------------------------------
# A key value of a chain carries its key's name ("orgnr\x1f923609016"): the levels of a
# chain share one frame of keys (file and CRM alike) and never compare across levels.
SEP = "\x1f"


def chain(entity: str, names: tuple[str, ...]) -> list[MatchKey]:
    return [match_key(entity, n) for n in names]


def named(key: MatchKey, value: pl.Expr) -> pl.Expr:
    """A key value with its key's name in front (null stays null)."""
    return pl.lit(key.name + SEP) + value


def chain_keys(entity: str, names: tuple[str, ...], columns: set[str]) -> list[pl.Expr]:
    """The named file key of each level of a chain, in order."""
    return [named(key, file_key(key, columns)) for key in chain(entity, names)]


def first_present(exprs: list[pl.Expr]) -> pl.Expr:
    return pl.coalesce(exprs) if len(exprs) > 1 else exprs[0]
