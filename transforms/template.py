"""Import templates: our headers in order, a note on each, drop-downs of the CRM's lists."""

from __future__ import annotations

from pathlib import Path

import xlsxwriter
import xlsxwriter.exceptions

from transforms.export import ExportFailed, text_workbook
from transforms.store.base import CrmStore

# (header, what it holds, required, CRM list for a drop-down). Every header auto-maps.
CONTACTS = [
    ("Company", "Company name. Rows with the same company become one company.", False, None),
    ("Department", "Department of the company.", False, None),
    ("Org.nr", "Organisation number (digits are compared).", False, None),
    ("VAT number", "VAT number (digits are compared).", False, None),
    ("Customer number", "Your customer number for the company.", False, None),
    ("Category", "Company category, from the CRM's list.", False, "category"),
    ("Business", "Line of business, from the CRM's list.", False, "business"),
    ("Address", "Street address of the company.", False, None),
    ("Postcode", "Postcode (kept as text: 0150 stays 0150).", False, None),
    ("City", "City.", False, None),
    ("Country", "Country.", False, None),
    ("Company phone", "Main phone number of the company.", False, None),
    ("Website", "Web address of the company.", False, None),
    ("First name", "First name of the contact person.", False, None),
    ("Middle name", "Middle name.", False, None),
    ("Last name", "Last name.", False, None),
    ("Title", "Salutation (Mr, Ms, Dr).", False, None),
    ("Position", "Job title, from the CRM's list.", False, "position"),
    ("Email", "E-mail address of the person.", False, None),
    ("Mobile", "Mobile number; without country code it is read for the settings' region.", False, None),
    ("Phone", "Direct phone number of the person.", False, None),
    ("Birthday", "Date of birth, e.g. 1990-02-01 or 01.02.1990.", False, None),
    ("Interests", "Interests, several separated by ; (from the CRM's list).", False, "interest"),
    ("Notes", "Free text about the person.", False, None),
]
PRODUCTS = [
    ("In assortment", "yes/no (ja/nei, x/blank, 1/0). Blank on a new product: no.", False, "_yesno"),
    ("Code", "Product code, unique within the price list.", True, None),
    ("Name", "Product name.", True, None),
    ("Description", "Longer description.", False, None),
    ("Category", "Product category, from the CRM's list.", False, "product_category"),
    ("Family", "Product family, from the CRM's list.", False, "product_family"),
    ("Type", "Product type, from the CRM's list.", False, "product_type"),
    ("Unit", "Unit of sale (pcs, kg, 24 x 0.33 l).", False, None),
    ("List price", "Price, a number ≥ 0 (1 234,50 and 1,234.50 both work).", True, None),
    ("Minimum price", "Lowest price allowed, a number ≥ 0.", False, None),
    ("Cost", "Cost price, a number ≥ 0.", False, None),
    ("VAT rate", "VAT in percent, e.g. 25.", False, None),
]


def write_template(store: CrmStore, kind: str, path: str | Path) -> list[str]:
    spec = CONTACTS if kind == "contacts" else PRODUCTS
    lists = store.query("SELECT list_name, value FROM list_item ORDER BY list_name, is_default DESC, value")
    p = Path(path)
    try:
        wb = text_workbook(p)
        ws = wb.add_worksheet(kind)
        values = wb.add_worksheet("lists")  # drop-down sources, out of the way
        values.hide()
        head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        need = wb.add_format({"bold": True, "bg_color": "#FCE4D6", "border": 1})
        col_of_list: dict[str, int] = {}
        for j, (header, note, required, list_name) in enumerate(spec):
            ws.write_string(0, j, header, need if required else head)
            ws.write_comment(0, j, f"{note}\n{'Required.' if required else 'Optional.'}",
                             {"x_scale": 2, "y_scale": 1.2})
            ws.set_column(j, j, max(12, len(header) + 4))
            if list_name is None:
                continue
            items = (["yes", "no"] if list_name == "_yesno"
                     else lists.filter(lists["list_name"] == list_name)["value"].to_list())
            if not items:
                continue
            k = col_of_list.setdefault(list_name, len(col_of_list))
            values.write_string(0, k, list_name)
            values.write_column(1, k, items)
            letter = xlsxwriter.utility.xl_col_to_name(k)
            ws.data_validation(1, j, 10_000, j, {
                "validate": "list", "source": f"=lists!${letter}$2:${letter}${len(items) + 1}",
                # a value the list lacks is allowed (the import's [lists] policy decides)
                "error_type": "warning", "error_title": "Not in the CRM's list",
                "error_message": "The import adds it to the list, or blanks it, by its settings."})
        ws.freeze_panes(1, 0)
        ws.activate()
        wb.close()
    except (OSError, xlsxwriter.exceptions.FileCreateError) as exc:  # (the latter: on close)
        raise ExportFailed(str(p), getattr(exc, "strerror", None) or str(exc)) from None
    return [h for h, *_ in spec]
