"""Match keys: casefolded text, digits-only numbers, lowercase emails, E.164 phones.

Keys are compared, never stored: the CRM keeps the original values. Library calls
(phonenumbers, email-validator) run once per *unique* value and are joined back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import email_validator
import phonenumbers
import polars as pl

from contracts.countries import COUNTRY_REGIONS

# Polars-side normalisation must equal `text_key_py` for values compared across both.


def text_key(expr: pl.Expr) -> pl.Expr:
    """Trimmed, whitespace folded, casefolded (ß → ss); empty → null."""
    return (
        expr.str.normalize("NFKC")
        .str.to_lowercase()
        .str.replace_all("ß", "ss", literal=True)
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
        .replace("", None)
    )


def digits_key(expr: pl.Expr) -> pl.Expr:
    """Org/VAT numbers compare on their digits only ("NO 923 609 016 MVA" → 923609016)."""
    return expr.str.replace_all(r"\D", "").replace("", None)


def email_key(expr: pl.Expr) -> pl.Expr:
    return expr.str.strip_chars().str.to_lowercase().replace("", None)


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
    number read in its own record's region. The result has value, region, e164."""
    pairs = (values.to_frame("value").with_columns(pl.lit(region).alias("region"))
             if isinstance(values, pl.Series) else values.select("value", "region"))
    uniq = pairs.drop_nulls("value").unique(maintain_order=True)

    def e164(text: str, where: str) -> str | None:
        try:
            num = phonenumbers.parse(text, where)
        except phonenumbers.NumberParseException:
            return None
        if not phonenumbers.is_possible_number(num):
            return None
        return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)

    # the one Python loop, over distinct (number, region) pairs
    return uniq.with_columns(pl.Series("e164", [e164(v, r) for v, r in uniq.iter_rows()],
                                       dtype=pl.String))


def country_region(expr: pl.Expr) -> pl.Expr:
    """A country as written ("Germany", "Norge", "DE") → its region code; else null."""
    key = expr.str.to_lowercase().str.replace_all(r"[^\p{L}\p{N}]", "")
    code = expr.str.strip_chars().str.to_uppercase()
    return (pl.when(code.is_in(sorted(phonenumbers.SUPPORTED_REGIONS))).then(code)
            .otherwise(key.replace_strict(COUNTRY_REGIONS, default=None)))


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
             & ~text.str.to_lowercase().str.contains(rf"\.(?:{special})$"))
    marked = uniq.with_columns(plain.alias("_plain"))
    fast = marked.filter("_plain").select("value", text.str.to_lowercase().alias("key"))
    slow = _lookup(marked.filter(~pl.col("_plain"))["value"], check, "key")
    return pl.concat([fast, slow])


DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%d.%m.%Y", "%d/%m/%Y", "%Y/%m/%d",
                "%d-%m-%Y", "%Y%m%d")


def parse_date(expr: pl.Expr) -> pl.Expr:
    """Dates as written in Nordic/German/ISO files and Excel date cells; else null."""
    return pl.coalesce(
        [expr.str.strip_chars().str.to_date(fmt, strict=False) for fmt in DATE_FORMATS]
    )


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
