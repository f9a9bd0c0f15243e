"""Build ``pharmacyfirst/data/products.json`` and ``pregnancy.json`` from the shared folder.

Run ``uv run python scripts/build_pharmacy_first.py ../shared`` after the shared Pharmacy First
codelists change. The product never reads ``../shared`` at run time, only what this writes.
Sources (../shared/clinical/pharmacy_first/SOURCE.md): OpenSAFELY's Pharmacy First treatment
codelists (dm+d, one per pathway, MIT licence) and the NHS Digital primary care domain pregnancy
refset (PREG_COD). Ids are checked with the Verhoeff check digit (dm+d and SNOMED CT ids carry
one). The codelists hold no gateways: those are in ``pathways.yaml``, cited to NHS England.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from ipmo.terminology.verhoeff import verhoeff_ok

DATA = Path(__file__).resolve().parents[1] / "src" / "ipmo" / "pharmacyfirst" / "data"
FOLDER = "clinical/pharmacy_first"
CODELISTS = {
    "uti": "urinary-tract-infection",
    "acute-otitis-media": "acute-otitis-media",
    "sore-throat": "sore-throat",
    "sinusitis": "sinusitis",
    "shingles": "shingles",
    "impetigo": "impetigo",
    "infected-insect-bites": "infected-insect-bites",
}


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    bad = [r["code"] for r in rows if not verhoeff_ok(r["code"])]
    if bad:
        raise SystemExit(f"{path.name}: ids failing the check digit: {bad[:5]}")
    return rows


def main(shared: Path) -> None:
    folder = shared / FOLDER
    products = {}
    for pathway, stem in CODELISTS.items():
        rows = _rows(folder / f"opensafely-pharmacy-first-{stem}-treatment-full-dmd-codelist.csv")
        products[pathway] = sorted([r["code"], r["term"], r["dmd_type"]] for r in rows)
    pregnancy_codes = _rows(folder / "nhsd-primary-care-domain-refsets-preg_cod.csv")
    pregnancy = sorted(r["code"] for r in pregnancy_codes)
    DATA.mkdir(parents=True, exist_ok=True)
    (DATA / "products.json").write_text(json.dumps(products, indent=0) + "\n")
    (DATA / "pregnancy.json").write_text(json.dumps(pregnancy, indent=0) + "\n")
    print(f"wrote {sum(map(len, products.values()))} products, {len(pregnancy)} pregnancy codes")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared"))
