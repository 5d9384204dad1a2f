"""Products into a price list (SPEC §3 [product], §5 "Products").

The same shape as contacts: validate (rejects and warnings), group rows by key, match the
CRM's products of the chosen price list only, decide under the action, and apply in one
transaction. Prices are parsed to exact decimals (DECIMAL(18,4) in the CRM).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from contracts.canonical import CanonicalProduct
from contracts.errors import CrmImportError
from contracts.fields import PRODUCT_FIELDS, PRODUCT_REQUIRED
from contracts.keys import match_key
from contracts.settings import ImportSettings
from transforms import keys as k
from transforms import match as m
from transforms import normalise as nz
from transforms.apply import (
    LoadResult,
    _insert,
    _selections,
    _update,
    insert_list_items,
    write_change_log,
)
from transforms.plan import (
    DELETE_SCHEMA,
    VALUE_SCHEMA,
    EntityPlan,
    conflict_warnings,
    decide,
    field_changes,
    group_entities,
    resolve_lists,
)
from transforms.snapshot import crm_keys
from transforms.store import CrmStore
from transforms.validate import (
    ISSUE_SCHEMA,
    WARNING_SCHEMA,
    Checked,
    empty_issues,
    issues,
    storage_rejects,
)

PRODUCT_COLUMNS: dict[str, str] = {f.name: f.column for f in PRODUCT_FIELDS if f.column}
PRICES = ("product_list_price", "product_min_price", "product_cost")
LISTS = {"product_category": ("product_category", "new_category"),
         "product_family": ("product_family", "new_family"),
         "product_type": ("product_type", "new_type")}


class MissingRequiredColumns(CrmImportError):
    def __init__(self, path: str, missing: list[str], headers: list[str]):
        self.missing = missing
        self.hint = ("map columns to them with --mapping (see `crm-import mapping FILE -o M.toml`),"
                     " or start from `crm-import template products`")
        super().__init__(f"{path}: products need columns for {', '.join(missing)}; the file has "
                         f"{', '.join(headers[:10]) or 'none'}")


def require_columns(columns: set[str], *, path: str, headers: list[str]) -> None:
    missing = [f.removeprefix("product_").replace("_", " ") for f in PRODUCT_REQUIRED
               if f not in columns]
    if missing:
        raise MissingRequiredColumns(path, missing, headers)


def _vat_rate(expr: pl.Expr) -> pl.Expr:
    """A VAT rate as a percentage, 0 to 100 ("25", "25 %", "12,5"); else null."""
    parsed = nz.parse_decimal(expr)
    return pl.when(parsed.cast(pl.Float64, strict=False).is_between(0, 100)).then(parsed)


def check_products(canonical: pl.DataFrame, *, headers: dict[str, str]) -> Checked:
    """Rejects: missing code/name/list price, a price that is no number ≥ 0, a value that
    cannot be stored. Warnings: a VAT rate or in-assortment flag that cannot be read."""
    def hdr(c: str) -> str:
        return headers.get(c, c)

    rejects = [storage_rejects(canonical, headers, CanonicalProduct)]
    warns: list[pl.LazyFrame] = []
    frame = canonical
    for c in PRODUCT_REQUIRED:
        if c in frame.columns:
            rejects.append(issues(frame.filter(pl.col(c).is_null()), header=hdr(c), field=c,
                                  reason=f"{c.removeprefix('product_').replace('_', ' ')} is required"))
    for c in PRICES:
        if c not in frame.columns:
            continue
        parsed = nz.parse_decimal(pl.col(c))
        bad = frame.filter(pl.col(c).is_not_null() & parsed.is_null())
        rejects.append(issues(bad, header=hdr(c), field=c,
                              reason="not a price (a number with at most 4 decimals)"))
        negative = frame.filter(parsed.str.starts_with("-"))
        rejects.append(issues(negative, header=hdr(c), field=c, reason="a price must be ≥ 0"))
        frame = frame.with_columns(parsed.alias(c))
    for c, parse, what in (("product_vat_rate", _vat_rate, "a VAT rate (0-100 %)"),
                           ("product_in_assortment", nz.parse_flag, "yes/no")):
        if c in frame.columns:
            bad = canonical.filter(pl.col(c).is_not_null() & parse(pl.col(c)).is_null())
            warns.append(issues(bad, header=hdr(c), field=c, code="invalid_value",
                                reason=f"not {what}; value dropped"))
            frame = frame.with_columns(parse(pl.col(c)).alias(c))
    rejected = pl.concat(rejects, how="vertical_relaxed").collect().sort("source_row")
    warnings = (pl.concat(warns, how="vertical_relaxed").collect() if warns
                else empty_issues(warn=True))
    rows = frame.join(rejected.select("source_row").unique(), on="source_row", how="anti")
    warnings = warnings.join(rejected.select("source_row").unique(), on="source_row", how="anti")
    return Checked(rows.sort("source_row"), rejected, warnings)


@dataclass(frozen=True)
class ProductSnapshot:
    """The CRM as a product plan sees it: the price list (None: the run creates it), the
    list items, and the keys and rows of the list's products."""
    price_list_id: int | None
    list_items: pl.DataFrame
    keys: pl.DataFrame  # crm_id, scope, key
    products: pl.DataFrame  # crm_id + product columns


def read_product_snapshot(store: CrmStore, *, settings: ImportSettings,
                          price_list: str) -> ProductSnapshot:
    found = store.query("SELECT price_list_id FROM price_list WHERE lower(name) = lower(?)",
                        [price_list])
    list_id = int(found["price_list_id"][0]) if found.height else None
    items = store.query("SELECT list_name, value, is_default FROM list_item")
    if list_id is None:
        return ProductSnapshot(None, items, pl.DataFrame(schema={"crm_id": pl.Int64, "scope": pl.String,
                                                                 "key": pl.String}),
                               pl.DataFrame(schema={"crm_id": pl.Int64}))
    keys = crm_keys(store, match_key("product", settings.product.match),
                    filters=(("price_list_id", list_id),))
    products = store.query("SELECT * FROM product WHERE price_list_id = ?", [list_id])
    return ProductSnapshot(list_id, items, keys, products.rename({"product_id": "crm_id"}))


@dataclass(frozen=True)
class ProductPlan:
    product: EntityPlan
    price_list: str
    price_list_id: int | None  # None: created by the run
    currency: str
    list_items_new: pl.DataFrame
    rejects: pl.DataFrame
    warnings: pl.DataFrame
    candidates: pl.DataFrame
    row_plan: pl.DataFrame
    value_inserts: pl.DataFrame
    value_deletes: pl.DataFrame

    @property
    def entities(self) -> dict[str, EntityPlan]:
        return {"product": self.product}


def plan_products(rows: pl.DataFrame, snapshot: ProductSnapshot, *, settings: ImportSettings,
                  headers: dict[str, str], price_list: str) -> ProductPlan:
    """One decision per product of the price list, against the snapshot (pure)."""
    ps = settings.product
    list_id, items = snapshot.price_list_id, snapshot.list_items
    new_items = []
    frame = rows
    for column, (list_name, key) in LISTS.items():
        if column in frame.columns:
            frame, added = resolve_lists(frame, items, column, list_name, getattr(ps, key))
            new_items.append(added)
    frame = frame.with_columns(k.product_key(ps.match, set(frame.columns)).alias("_key"))
    frame = frame.with_columns(
        pl.when(pl.col("_key").is_not_null()).then(pl.lit("k:") + pl.col("_key"))
        .otherwise(pl.lit("r:") + pl.col("source_row").cast(pl.String)).alias("group"))
    columns = [c for c in PRODUCT_COLUMNS if c in frame.columns]
    products, conflicts = group_entities(frame, columns, "_key")
    pairs = m.find_candidates(products.select("group", pl.lit("any").alias("scope"), "key"),
                              snapshot.keys)
    dec = decide(products, pairs, ps.action)
    matched = dec.filter(pl.col("outcome") == "matched")
    changes = field_changes(matched, snapshot.products, PRODUCT_COLUMNS, action=ps.action,
                            protect=ps.protect)
    touched = changes.select("group").unique().with_columns(pl.lit(True).alias("_t"))
    dec = (dec.join(touched, on="group", how="left")
           .with_columns(pl.when(pl.col("outcome") != "matched").then(pl.col("outcome"))
                         .when(pl.col("_t").fill_null(False)).then(pl.lit("updated"))
                         .otherwise(pl.lit("unchanged")).alias("outcome")).drop("_t"))
    # a blank in-assortment cell on a new product reads as "no" (x/blank), no column as "yes"
    if "product_in_assortment" not in dec.columns:
        dec = dec.with_columns(pl.lit("true").alias("product_in_assortment"))
    dec = dec.with_columns(
        pl.when(pl.col("outcome") == "new").then(pl.col("product_in_assortment").fill_null("false"))
        .otherwise(pl.col("product_in_assortment")).alias("product_in_assortment"))
    row_map = frame.select("source_row", "group")
    row_plan = (row_map.join(dec.select("group", "outcome", "crm_id", "reason"), on="group")
                .select("source_row", pl.lit("product").alias("entity"), "outcome", "crm_id",
                        "reason", "group")
                .sort("source_row"))
    candidates = (frame.select("source_row", "group", pl.col("_key").alias("key_value"))
                  .join(pairs, on="group")
                  .select("source_row", pl.lit("product").alias("entity"),
                          pl.lit(ps.match).alias("match_key"), "key_value", "crm_id"))
    no_key = issues(frame.filter(pl.col("_key").is_null()), header="(key)", field="product_code",
                    value=pl.lit(None), code="no_match_key",
                    reason=f"empty match key (product.match = {ps.match}): created as new, and "
                           "importing it again creates it again")
    all_items = (pl.concat(new_items, how="vertical_relaxed") if new_items
                 else pl.DataFrame(schema={"list_name": pl.String, "value": pl.String}))
    return ProductPlan(
        product=EntityPlan(dec, row_map, changes),
        price_list=price_list, price_list_id=list_id, currency=ps.currency,
        list_items_new=all_items, rejects=pl.DataFrame(schema=ISSUE_SCHEMA),
        warnings=pl.concat([no_key, conflict_warnings(conflicts, headers)], how="diagonal_relaxed")
        .collect().select(list(WARNING_SCHEMA)).cast(WARNING_SCHEMA),
        candidates=candidates, row_plan=row_plan,
        value_inserts=pl.DataFrame(schema=VALUE_SCHEMA), value_deletes=pl.DataFrame(schema=DELETE_SCHEMA),
    )


TYPES: dict[str, pl.DataType] = {"list_price": pl.Decimal(18, 4), "min_price": pl.Decimal(18, 4), "cost": pl.Decimal(18, 4),
         "vat_rate": pl.Decimal(9, 4), "in_assortment": pl.Boolean()}


def apply_products(store: CrmStore, plan: ProductPlan, *, run_id: str,
                   checkpoint: Callable[[str], None] = lambda _: None) -> LoadResult:
    """Price list (created if missing), new products, field updates, log, selections."""
    log: list[pl.DataFrame] = []
    insert_list_items(store, plan.list_items_new, log)
    list_id = plan.price_list_id
    if list_id is None:
        list_id = int(store.next_ids("price_list", 1)[0])
        _insert(store, "price_list", pl.DataFrame({"price_list_id": [list_id], "name": [plan.price_list],
                                                   "currency": [plan.currency]}), log)
    checkpoint("load:companies")
    new = plan.product.decisions.filter(pl.col("outcome") == "new")
    ids = store.next_ids("product", new.height)
    rows = new.select(ids.alias("product_id"), pl.lit(list_id).cast(pl.Int64).alias("price_list_id"),
                      *[pl.col(c).alias(col) for c, col in PRODUCT_COLUMNS.items() if c in new.columns])
    rows = rows.with_columns(
        [(pl.col(c) == "true") if t == pl.Boolean else pl.col(c).cast(t)
         for c, t in TYPES.items() if c in rows.columns])
    _insert(store, "product", rows, log)
    checkpoint("load:persons")
    _update(store, "product", "product_id", plan.product.changes, log)
    checkpoint("load:log")
    written = write_change_log(store, log, run_id)
    updated = plan.product.decisions.filter(pl.col("outcome") == "updated")["crm_id"]
    _selections(store, run_id, {"product": ids}, {"product": updated})
    store.unregister_all()
    return LoadResult({"product": ids}, {"product": updated}, written,
                      {"product": new.select("group", ids.alias("crm_id"))})


__all__ = ["ProductPlan", "ProductSnapshot", "apply_products", "check_products", "plan_products",
           "read_product_snapshot", "require_columns"]
