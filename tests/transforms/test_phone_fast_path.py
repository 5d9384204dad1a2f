"""The vectorised phone fast path agrees with phonenumbers wherever it decides."""

from __future__ import annotations

import random

import phonenumbers
import polars as pl

from transforms import normalise as nz

REGIONS = ["NO", "SE", "DK", "FI", "IS", "DE", "AT", "CH", "GB", "IE", "FR", "BE", "NL", "LU",
           "ES", "PT", "IT", "PL", "EE", "LT", "US", "CA", "MX", "BR", "AR", "AU", "NZ", "JP",
           "CN", "IN", "ZA", "RU", "SG"]


def _library(value: str, region: str) -> str | None:
    return nz.library_e164(value, region)


def _sample(n: int, seed: int = 11) -> list[tuple[str, str]]:
    """Numbers as people write them: real-looking ones from each region's example numbers,
    random digit strings of every length, national prefixes, +cc / 00cc, odd punctuation."""
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        region = rnd.choice(REGIONS)
        other = rnd.choice(REGIONS)
        example = phonenumbers.example_number_for_type(
            other, rnd.choice([phonenumbers.PhoneNumberType.MOBILE,
                               phonenumbers.PhoneNumberType.FIXED_LINE]))
        if example is not None and rnd.random() < 0.6:
            national = str(example.national_number)
            national = "".join(d if rnd.random() > 0.3 else str(rnd.randrange(10)) for d in national)
            cc = str(example.country_code)
        else:
            national = "".join(str(rnd.randrange(10)) for _ in range(rnd.randint(3, 15)))
            cc = str(rnd.choice([1, 7, 20, 31, 33, 44, 45, 46, 47, 49, 52, 54, 61, 81, 86, 91,
                                 354, 358, 372, 380]))
        style = rnd.randrange(8)
        if style == 0:
            text = "+" + cc + " " + national
        elif style == 1:
            text = "00" + cc + national
        elif style == 2:
            text = "0" + national
        elif style == 3:
            text = "(" + national[:3] + ") " + national[3:]
        elif style == 4:
            text = "-".join(national[i:i + 3] for i in range(0, len(national), 3))
        elif style == 5:
            text = "+" + cc + " (0)" + national
        elif style == 6:
            text = cc + national
        else:
            text = " ".join(national[i:i + 2] for i in range(0, len(national), 2))
        out.append((text, region))
    return out


def test_fast_path_agrees_with_the_library():
    pairs = pl.DataFrame(_sample(20_000), schema={"value": pl.String, "region": pl.String},
                         orient="row").unique()
    fast = nz.phone_fast_path(pairs).filter(pl.col("e164").is_not_null())
    assert fast.height > 0.25 * pairs.height  # (random digits are mostly no number at all)
    wrong = [(v, r, e, _library(v, r)) for v, r, e in fast.iter_rows() if _library(v, r) != e]
    assert wrong == []


def test_lookup_is_the_library_for_everything_else():
    pairs = pl.DataFrame(_sample(3_000, seed=5), schema={"value": pl.String, "region": pl.String},
                         orient="row").unique()
    got = {(v, r): e for v, r, e in nz.phone_lookup(pairs).rows()}
    assert got == {(v, r): _library(v, r) for v, r in pairs.rows()}
