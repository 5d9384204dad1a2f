"""Writes data/samples/contacts.xlsx and data/samples/demo_crm_seed.csv (the demo's files).

Run from the repo root: `python tests/cases/make_demo_samples.py`. The outputs are committed;
this script documents how they were made.
"""

from pathlib import Path

import xlsxwriter

ROOT = Path(__file__).resolve().parents[2] / "data" / "samples"

SEED = """Company,Org number,Address,Postcode,City,Category,First name,Last name,Email,Mobile,Position
Fjordkraft Handel AS,923 609 016,Kanalveien 107,5068,Bergen,Customer,Ingrid,Solberg,ingrid.solberg@fjordkraft-handel.no,+47 412 34 567,CFO
Fjordkraft Handel AS,923 609 016,Kanalveien 107,5068,Bergen,Customer,Lars,Haugen,lars.haugen@fjordkraft-handel.no,+47 413 45 678,Buyer
Nordlys Consulting AS,,Storgata 1,0155,Oslo,Partner,Kari,Nordmann,kari@nordlys.no,+47 900 11 222,Partner
Bakeriet på Hjørnet,,,,,Customer,Per,Bakke,,,
Vestland Marine AS,987 654 321,Strandkaien 12,5013,Bergen,Prospect,,,,,
Vestland Marine,,Strandkaien 12,5013,Bergen,Prospect,,,,,
Fjordkraft Handel AS,923 609 016,Kanalveien 107,5068,Bergen,Customer,Lars,Haugan,,,Buyer
"""
# (the last two lines are what an old CRM holds: a company and a person entered twice,
# written another way, that no exact key joins: `crm-import duplicates` lists them)

HEADER = ["Firma", "Org.nr", "Adresse", "Postnr", "Sted", "Kategori", "Fornavn", "Etternavn",
          "E-post", "Mobil", "Stilling", "Interesser"]
ROWS = [
    # matched company (name in other case/spacing) gets its empty fields filled; person matched
    ["FJORDKRAFT  HANDEL AS", "923609016", "Kanalveien 107", "5068", "Bergen", "Customer",
     "Ingrid", "Solberg", "Ingrid.Solberg@Fjordkraft-Handel.no", "41234567", "CFO", "Energi"],
    # a new person at a matched company
    ["Fjordkraft Handel AS", "", "", "", "", "", "Mona", "Lie", "mona.lie@fjordkraft-handel.no",
     "+4741499887", "Controller", "Energi; Golf"],
    # matched company whose empty address is filled (merge), person new
    ["Bakeriet på Hjørnet", "", "Torggata 3", "0181", "Oslo", "", "Siri", "Berg", "", "", "", ""],
    # a new company with two persons, leading-zero postcode kept
    ["Oslo Sykkelverksted AS", "912 345 678", "Markveien 35", "0554", "Oslo", "Leverandør",
     "Ola", "Hansen", "ola@sykkelverksted.no", "480 01 234", "Daglig leder", "Sykkel"],
    ["Oslo Sykkelverksted AS", "912 345 678", "Markveien 35", "0554", "Oslo", "Leverandør",
     "Eva", "Lund", "eva@sykkelverksted.no", "", "Mekaniker", ""],
    # a bad email: dropped with a warning, the row goes on
    ["Tromsø Fisk AS", "", "Havnegata 9", "9008", "Tromsø", "Customer", "Nils", "Eriksen",
     "nils(at)tromsofisk.no", "", "", ""],
    # a person without company: a company named after the person is created
    ["", "", "", "", "", "", "Anne", "Dahl", "anne.dahl@example.no", "+46 70 123 45 67", "", ""],
    # a row with nothing to identify anyone: rejected
    ["", "", "Ukjent vei 1", "0001", "Oslo", "", "", "", "", "", "", ""],
    # the company again, unchanged
    ["Vestland Marine AS", "987654321", "Strandkaien 12", "5013", "Bergen", "Prospect",
     "", "", "", "", "", ""],
]


def main() -> None:
    ROOT.mkdir(parents=True, exist_ok=True)
    (ROOT / "demo_crm_seed.csv").write_text(SEED, encoding="utf-8")
    wb = xlsxwriter.Workbook(ROOT / "contacts.xlsx")
    ws = wb.add_worksheet("Kunder")
    bold = wb.add_format({"bold": True})
    ws.write(0, 0, "Kundeliste oktober 2026", bold)  # a title row above the header
    ws.write_row(2, 0, HEADER, bold)
    for i, row in enumerate(ROWS, start=3):
        for j, value in enumerate(row):
            if value:
                ws.write_string(i, j, value)
    ws.set_column(0, len(HEADER), 18)
    wb.close()


if __name__ == "__main__":
    main()
