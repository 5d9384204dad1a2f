"""Match keys: casefolded text, digits-only numbers, lowercase emails, E.164 phones.

Keys are compared, never stored: the CRM keeps the original values. Library calls
(phonenumbers, email-validator) run once per *unique* value and are joined back.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from typing import Literal, NamedTuple

import email_validator
import phonenumbers
import polars as pl

from contracts.countries import COUNTRY_REGIONS

# Every key is made by these expressions, on both sides of a comparison (file and CRM).

# whitespace that `\s+` → " " would change: a run of two or more, or one that is not a space
# (matching only these leaves most strings untouched: 3× faster than replacing every space)
FOLD_SPACE = r"\s{2,}|[\s&&[^ ]]"


def unicode_form(expr: pl.Expr, form: Literal["NFC", "NFKC", "NFD", "NFKD"]) -> pl.Expr:
    """`expr.str.normalize(form)`, worked out for the values that are not plain ASCII only:
    every form leaves ASCII as it is, and most names, e-mails and addresses are (2M short
    ASCII names: 0.30 s normalised, 0.02 s found to be ASCII)."""

    def batch(values: pl.Series) -> pl.Series:
        values = values.cast(pl.String)
        wide = (values.str.len_bytes() != values.str.len_chars()).fill_null(False)
        if not wide.any():
            return values
        at = wide.arg_true()
        return values.scatter(at, values.gather(at).str.normalize(form))

    return expr.map_batches(batch, return_dtype=pl.String, is_elementwise=True)


def text_key(expr: pl.Expr) -> pl.Expr:
    """Trimmed, whitespace folded, casefolded (ß → ss); empty → null."""
    return (
        unicode_form(expr, "NFKC")
        .str.to_lowercase()
        .str.replace_all("ß", "ss", literal=True)
        .str.replace_all(FOLD_SPACE, " ")
        .str.strip_chars()
        .replace("", None)
    )


def digits_key(expr: pl.Expr) -> pl.Expr:
    """Org/VAT numbers compare on their digits only ("NO 923 609 016 MVA" → 923609016)."""
    return expr.str.replace_all(r"\D", "").replace("", None)


def email_key(expr: pl.Expr) -> pl.Expr:
    return expr.str.strip_chars().str.to_lowercase().replace("", None)


def is_crm_id(expr: pl.Expr) -> pl.Expr:
    """A CRM id as written in a file: a whole number (surrounding spaces allowed)."""
    return expr.str.strip_chars().str.contains(r"^\d{1,18}$")


def phone_key(e164: pl.Expr, value: pl.Expr) -> pl.Expr:
    """What phones are compared on: the E.164 form where the number has one, else its
    digits ("9986", "5555") — a value with letters beside its digits by its text
    ("+49 FAX" and "+49 PRIVAT" are two values, not one number 49); null: no digits, no
    number (SPEC §3: a phone with digits is never dropped)."""
    digits = digits_key(value)
    worded = value.str.contains(r"\p{L}")
    return pl.coalesce(e164, pl.when(digits.is_not_null() & worded).then(text_key(value))
                       .otherwise(digits))


def with_phone_keys(lookup: pl.DataFrame) -> pl.DataFrame:
    """`phone_lookup`'s (value, region, e164) with each value's `key` (`phone_key`): worked
    out only for the few values without an E.164 form — the rest are their E.164."""
    missing = pl.col("e164").is_null()
    return pl.concat([
        lookup.filter(~missing).with_columns(pl.col("e164").alias("key")),
        lookup.filter(missing).with_columns(phone_key(pl.col("e164"), pl.col("value")).alias("key")),
    ])


def person_name_key(first: pl.Expr, last: pl.Expr) -> pl.Expr:
    """First + last name; null when both are empty (such a person cannot be matched)."""
    f, la = text_key(first).fill_null(""), text_key(last).fill_null("")
    return pl.concat_str([f, la], separator=" ").str.strip_chars().replace("", None)


def _lookup(values: Iterable[str], fn: Callable[[str], str | None], name: str) -> pl.DataFrame:
    """`value → fn(value)` for unique values; the one Python loop, over distinct values."""
    uniq = list(dict.fromkeys(values))
    return pl.DataFrame(
        {"value": uniq, name: [fn(v) for v in uniq]},
        schema={"value": pl.String, name: pl.String},
    )


def phone_lookup(values: pl.Series | pl.DataFrame, *, region: str | None = None) -> pl.DataFrame:
    """value → E.164 (null when it is not a possible phone number).

    `values` is a Series read in `region`, or a frame of (value, region) pairs — each
    number read in its own record's region. The result has value, region, e164.

    Numbers written in the common ways ("+47 412 34 567", "0046 70-123 45 67",
    "(0)8-123 456", "412 34 567") are decided by expressions over the whole frame from the
    phonenumbers metadata (country code, national prefix, possible lengths); only the rest
    (letters, extensions, odd prefixes, impossible lengths) go to the library one by one.
    Both give the same answers (tests/transforms/test_phone_fast_path.py)."""
    pairs = (values.to_frame("value").with_columns(pl.lit(region).alias("region"))
             if isinstance(values, pl.Series) else values.select("value", "region"))
    uniq = pairs.drop_nulls("value").unique(maintain_order=True)
    fast = phone_fast_path(uniq)
    slow = fast.filter(pl.col("e164").is_null()).select("value", "region")
    # the one Python loop, over the distinct (number, region) pairs the fast path left
    slow = slow.with_columns(pl.Series("e164", [library_e164(v, r) for v, r in slow.iter_rows()],
                                       dtype=pl.String))
    return pl.concat([fast.filter(pl.col("e164").is_not_null()), slow])


def library_e164(text: str, region: str | None) -> str | None:
    """One number through phonenumbers: E.164 if it is a possible number, else None."""
    try:
        num = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(num):
        return None
    if num.italian_leading_zero and not _zero_allowed(num):
        return None  # ("0311111111" read in the US is no +1 0311111111: it stays as given)
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def _zero_allowed(num: phonenumbers.PhoneNumber) -> bool:
    """A national number that keeps a leading zero is one only where the country's numbers
    may start with one (Italy's do; the United States' do not)."""
    region = phonenumbers.region_code_for_country_code(num.country_code or 0)
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    desc = meta.general_desc if meta is not None else None
    if desc is None or desc.national_number_pattern is None:
        return True
    return re.fullmatch(desc.national_number_pattern,
                        phonenumbers.national_significant_number(num)) is not None


class RegionRules(NamedTuple):
    """What parsing a region's numbers takes, from the phonenumbers metadata."""

    cc: int  # country calling code
    national_prefix: str  # "0", or "" where the region has none
    other_prefixes: str | None  # a regex of other national prefixes for parsing ("^(?:180020)")
    lengths: list[int]  # possible national lengths, local-only ones included
    idd00: bool  # "00" is its international prefix
    idd: str  # its international prefix, as an anchored regex
    pattern: str  # its national numbers, as an anchored regex
    full_lengths: list[int]  # possible national lengths that are not local-only


@functools.cache
def _region_rules(region: str) -> RegionRules | None:
    """The region's rules — None where parsing needs more than these (a prefix transform
    rule, prefixes that are patterns): those numbers go to the library."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if meta is None or meta.national_prefix_transform_rule:
        return None
    prefix = meta.national_prefix or ""
    parsing = meta.national_prefix_for_parsing or prefix
    alternatives = parsing.split("|")
    if not all(re.fullmatch(r"\d+", a) for a in alternatives if a) or \
            (prefix and prefix not in alternatives) or (not prefix and parsing):
        return None
    desc = meta.general_desc
    if desc is None or meta.country_code is None or desc.national_number_pattern is None:
        return None
    lengths = [n for n in (*desc.possible_length, *desc.possible_length_local_only) if n > 0]
    if not lengths:
        return None
    others = [a for a in alternatives if a and a != prefix]
    return RegionRules(
        cc=meta.country_code, national_prefix=prefix,
        other_prefixes="^(?:" + "|".join(others) + ")" if others else None, lengths=lengths,
        idd00=meta.international_prefix == "00",
        idd="^(?:" + (meta.international_prefix or "$^") + ")",
        pattern="^(?:" + desc.national_number_pattern + ")$",
        full_lengths=[n for n in desc.possible_length if n > 0])


def _rules_frame(regions: list[str]) -> pl.DataFrame:
    rows = [(r, *rules) for r in regions if r and (rules := _region_rules(r)) is not None]
    return pl.DataFrame(rows, schema={"region": pl.String, "_cc": pl.Int64, "_np": pl.String,
                                      "_other": pl.String, "_lengths": pl.List(pl.Int64),
                                      "_idd00": pl.Boolean, "_idd": pl.String,
                                      "_pattern": pl.String, "_full": pl.List(pl.Int64)},
                        orient="row")


@functools.cache
def _calling_codes() -> pl.DataFrame:
    """Every country calling code with the rules of its main region that a number written
    with +cc needs: national prefixes (left to the library) and possible lengths."""
    rows = []
    for cc in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
        main = phonenumbers.region_code_for_country_code(cc)
        rules = _region_rules(main) if main and main != "001" else None
        if rules is not None:
            rows.append((str(cc), rules.national_prefix, rules.other_prefixes, rules.lengths))
    return pl.DataFrame(rows, schema={"_ccs": pl.String, "_cnp": pl.String,
                                      "_cother": pl.String, "_clengths": pl.List(pl.Int64)},
                        orient="row")


def phone_fast_path(pairs: pl.DataFrame) -> pl.DataFrame:
    """(value, region) → e164 for numbers in the common formats; null: ask the library."""
    text = pl.col("value").str.strip_chars()
    plain = text.str.contains(r"^\+?[0-9][0-9 ().\-/]*$") & ~text.str.contains("(0)", literal=True)
    digits = text.str.replace_all(r"\D", "")
    frame = (pairs.join(_rules_frame(pairs["region"].unique().drop_nulls().to_list()),
                        on="region", how="left")
             .with_columns(plain.alias("_plain"), digits.alias("_d"),
                           text.str.starts_with("+").alias("_plus")))
    intl = pl.col("_plus") | (pl.col("_idd00").fill_null(False) & pl.col("_d").str.starts_with("00"))
    rest = pl.when(pl.col("_plus")).then(pl.col("_d")).otherwise(pl.col("_d").str.slice(2))
    frame = frame.with_columns(pl.when(intl).then(rest).alias("_intl"))
    # country codes are prefix-free: the first 1, 2 or 3 digits that are one
    codes = _calling_codes()
    for n in (1, 2, 3):
        frame = frame.join(codes.rename({c: f"{c}{n}" for c in codes.columns}),
                           left_on=pl.col("_intl").str.slice(0, n), right_on=f"_ccs{n}", how="left")
    pick = lambda c: pl.coalesce(pl.col(f"{c}1"), pl.col(f"{c}2"), pl.col(f"{c}3"))  # noqa: E731
    cc = pl.coalesce(pl.col("_ccs1"), pl.col("_ccs2"), pl.col("_ccs3"))
    intl_national = pl.col("_intl").str.slice(cc.str.len_chars())
    ok_intl = (pl.col("_plain") & intl & cc.is_not_null()
               & intl_national.str.len_chars().is_in(pick("_clengths"))
               # a national prefix after the country code ("+49 030…"): the library decides
               & ~intl_national.str.starts_with("0")
               & ~_starts_with(intl_national, pick("_cnp"))
               & ~_matches(intl_national, pick("_cother")))
    # the national prefix is stripped unless that turns a number that fits the region's
    # pattern into one that does not, or leaves a number too short to be a full one (as the
    # library does: it keeps a possible short number whole)
    d, np = pl.col("_d"), pl.col("_np")
    stripped = d.str.slice(np.str.len_chars())
    viable = lambda x: x.str.contains(pl.col("_pattern"))  # noqa: E731
    national = (pl.when((np != "") & d.str.starts_with(np) & ~(viable(d) & ~viable(stripped))
                        & stripped.str.len_chars().is_in(pl.col("_full")))
                .then(stripped).otherwise(d))
    ok_national = (pl.col("_plain") & ~intl & pl.col("_cc").is_not_null()
                   & ~pl.col("_d").str.starts_with("00")
                   & ~_matches(pl.col("_d"), pl.col("_idd"))
                   & ~_matches(pl.col("_d"), pl.col("_other"))
                   & ~pl.col("_d").str.starts_with(pl.col("_cc").cast(pl.String))
                   & national.str.len_chars().is_in(pl.col("_lengths"))
                   # a leading zero kept only where the region's numbers may have one
                   & (~national.str.starts_with("0") | viable(national)))
    e164 = (pl.when(ok_intl).then(pl.lit("+") + cc + intl_national)
            .when(ok_national).then(pl.lit("+") + pl.col("_cc").cast(pl.String) + national))
    return frame.select("value", "region", e164.alias("e164"))


def _starts_with(num: pl.Expr, prefix: pl.Expr) -> pl.Expr:
    return (prefix.is_not_null() & (prefix != "") & num.str.starts_with(prefix.fill_null(""))) \
        .fill_null(False)


def _matches(num: pl.Expr, pattern: pl.Expr) -> pl.Expr:
    return num.str.contains(pattern.fill_null("$^")).fill_null(False) & pattern.is_not_null()


def country_region(expr: pl.Expr) -> pl.Expr:
    """A country as written ("Germany", "Norge", "DE") → its region code; else null."""
    key = expr.str.to_lowercase().str.replace_all(r"[^\p{L}\p{N}]", "")
    code = expr.str.strip_chars().str.to_uppercase()
    return (pl.when(code.is_in(sorted(phonenumbers.SUPPORTED_REGIONS))).then(code)
            .otherwise(key.replace_strict(COUNTRY_REGIONS, default=None)))


def country_regions(countries: pl.Series) -> pl.Expr:
    """`country_region` of a column, worked out once per distinct country (a file names a
    few countries in a million rows) and mapped onto the column."""
    uniq = countries.drop_nulls().unique()
    found = pl.DataFrame({"v": uniq}).with_columns(country_region(pl.col("v")).alias("r"))
    return pl.col(countries.name).replace_strict(found["v"], found["r"], default=None,
                                                 return_dtype=pl.String)


# Plain ASCII addresses that email-validator always accepts: checked as one vectorised
# regex; only the rest (IDN, quoted local parts, oddities) go to the library one by one.
_PLAIN_EMAIL = (
    r"^[A-Za-z0-9_%+-]{1,64}(?:\.[A-Za-z0-9_%+-]+)*@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)


def email_lookup(values: pl.Series) -> pl.DataFrame:
    """value → lowercase key (null when the address is not valid syntax)."""

    def check(text: str) -> str | None:
        try:
            email_validator.validate_email(text.strip(), check_deliverability=False)
        except email_validator.EmailNotValidError:
            return None
        return text.strip().lower()

    uniq = values.drop_nulls().unique().to_frame("value")
    text = pl.col("value").str.strip_chars()
    special = "|".join(sorted(email_validator.SPECIAL_USE_DOMAIN_NAMES))
    plain = (text.str.contains(_PLAIN_EMAIL) & (text.str.len_bytes() <= 254)
             & ~text.str.to_lowercase().str.contains(rf"\.(?:{special})$")
             # a domain label with "--" in its 3rd and 4th places is IDNA's: the library decides
             & ~text.str.contains(r"[@.][A-Za-z0-9]{2}--"))
    marked = uniq.with_columns(plain.alias("_plain"))
    fast = marked.filter("_plain").select("value", text.str.to_lowercase().alias("key"))
    slow = _lookup(marked.filter(~pl.col("_plain"))["value"], check, "key")
    return pl.concat([fast, slow])


DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%d.%m.%Y", "%d/%m/%Y", "%Y/%m/%d",
                "%d-%m-%Y", "%Y%m%d")


def full_name(first: pl.Expr, middle: pl.Expr, last: pl.Expr) -> pl.Expr:
    """A person's name in one text (null: no part): the name `if_no_company =
    "create_company"` gives the company it makes for them."""
    return pl.concat_str([first, middle, last], separator=" ", ignore_nulls=True).replace("", None)


def parse_date(expr: pl.Expr) -> pl.Expr:
    """Dates as written in Nordic/German/ISO files and Excel date cells, a time after an
    ISO date left out ("1996-04-15T201243+04:00" is 1996-04-15), years 1800-2199; else
    null."""
    text = expr.str.strip_chars().str.replace(r"^(\d{4}-\d{2}-\d{2})T.*$", "$1")
    parsed = pl.coalesce([text.str.to_date(fmt, strict=False) for fmt in DATE_FORMATS])
    # "1/2/3" parses as the year 3: a year needs its four digits to be a date here
    return pl.when(parsed.dt.year().is_between(1800, 2199)).then(parsed)


def parse_decimal(expr: pl.Expr) -> pl.Expr:
    """Prices as people write them → exact text "1234.5000"-style numbers; else null.

    "1 234,50", "1.234,50", "1,234.50", "kr 99,-", "NOK 1234", "€5", "25 %" and Excel's
    numeric cells. With one kind of separator: a single one is the decimal mark, repeated
    ones group thousands ("1.234.567"). Up to 4 decimals (the CRM's scale).
    """
    t = (expr.str.strip_chars()
         .str.replace_all(r"[\s\u00a0\u202f']", "")
         .str.replace(r"[.,]-$", "")
         .str.replace_all(r"(?i)[a-z$€£¥%:]+\.?", ""))
    comma, dot = t.str.contains(",", literal=True), t.str.contains(".", literal=True)
    comma_last = t.str.contains(r",\d*$")
    n_comma, n_dot = t.str.count_matches(",", literal=True), t.str.count_matches(".", literal=True)
    plain = (
        pl.when(comma & dot & comma_last).then(t.str.replace_all(".", "", literal=True)
                                                .str.replace(",", ".", literal=True))
        .when(comma & dot).then(t.str.replace_all(",", "", literal=True))
        .when(comma & (n_comma > 1)).then(t.str.replace_all(",", "", literal=True))
        .when(comma).then(t.str.replace(",", ".", literal=True))
        .when(dot & (n_dot > 1)).then(t.str.replace_all(".", "", literal=True))
        .otherwise(t)
    )
    ok = plain.str.contains(r"^-?\d{1,14}(\.\d{1,4})?$")
    return pl.when(ok).then(plain.cast(pl.Decimal(18, 4)).cast(pl.String))


YES = ("yes", "y", "ja", "j", "true", "1", "x", "sant", "wahr", "active", "aktiv", "on")
NO = ("no", "n", "nei", "nej", "false", "0", "falsk", "falsch", "inactive", "inaktiv", "off",
      "nein")


def parse_flag(expr: pl.Expr) -> pl.Expr:
    """yes/no, ja/nei, true/false, 1/0, x → "true"/"false"; anything else null."""
    k = expr.str.strip_chars().str.to_lowercase()
    return (pl.when(k.is_in(YES)).then(pl.lit("true"))
            .when(k.is_in(NO)).then(pl.lit("false")))
