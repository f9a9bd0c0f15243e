"""One synthetic month of the English Prescribing Dataset for the whole country (~6,500 practices).

Used by ``ipmo synth --size national-epd`` and ``bench/bench_analytics.py``. Each practice draws
its presentations from the profile of a real EPD month (``ipmo/analytics/data/epd_profile.csv``,
built from 4 real practices, NHSBSA open data, OGL v3): a presentation prescribed by k of the 4
real practices is prescribed by a synthetic practice with probability k/4, with items scaled by
the practice's list size (log-normal, mean 1), the usual quantity per item, the real NIC per unit,
and the real number of pack-size rows per presentation (×1.1, to reach the national ~2,700 raw rows
per practice: 17.5M rows / 6,500 practices in 2024 NHSBSA releases). About 0.1% of rows are
written for an unidentified prescriber (code ending 998), as in the real files.

The file has the shape of the real samples (fixtures/epd_format): the 26-column layout, one
practice's rows together, pack-size rows of a presentation next to each other, empty fields left
unquoted, quotes only around values holding a comma, CRLF line ends, QUANTITY / TOTAL_QUANTITY
written as ``14.0``, NIC with 2 and ACTUAL_COST with 5 decimals.

Randomness comes from numpy generators seeded by (seed, block of practices), so a seed always
gives the same file whatever the thread count. Rows are built and formatted with numpy (no Python
loop per row: each line is a byte matrix row, digits computed column-wise, and the real bytes
kept by one mask) in blocks of practices on a small thread pool.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

REGIONS = ["Y54", "Y55", "Y56", "Y58", "Y59", "Y60", "Y61"]
ICBS_PER_REGION = 6  # 42 ICBs
PLACES_PER_ICB = 2  # ~100 sub-ICB locations
BLOCK = 50  # practices per block (~140k rows, ~35 MB of line bytes: small blocks reuse freed
# memory instead of faulting in fresh pages); fixed, so the output does not depend on the threads
# The pre-2025 26-column layout (ipmo.analytics.ingest.epd.LAYOUTS["epd_2016"]; not imported here so
# the generator does not load the analytics engine).
HEADER = (
    "YEAR_MONTH,REGIONAL_OFFICE_NAME,REGIONAL_OFFICE_CODE,AREA_TEAM_NAME,AREA_TEAM_CODE,PCO_NAME,"
    "PCO_CODE,PRACTICE_NAME,PRACTICE_CODE,ADDRESS_1,ADDRESS_2,ADDRESS_3,ADDRESS_4,POSTCODE,"
    "BNF_CHEMICAL_SUBSTANCE,CHEMICAL_SUBSTANCE_BNF_DESCR,BNF_CODE,BNF_DESCRIPTION,"
    "BNF_CHAPTER_PLUS_CODE,QUANTITY,ITEMS,TOTAL_QUANTITY,ADQUSAGE,NIC,ACTUAL_COST,UNIDENTIFIED"
)
EOL = "\r\n"  # as in the NHSBSA files


@dataclass(frozen=True)
class NationalEpd:
    path: Path
    raw_rows: int
    practices: int
    month: str


def _profile_path() -> Path:
    return Path(str(resources.files("ipmo.analytics") / "data" / "epd_profile.csv"))


def _field(value: str) -> str:
    """One CSV field, quoted only when it must be (RFC 4180), as the NHSBSA files are."""
    if any(ch in value for ch in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def practice_code(i: int) -> str:
    """Practice ``i``'s code; every 997th is an unidentified prescriber (ends in 998)."""
    if i % 997 == 0:
        return f"Q{(i // 997) % 100:02d}998"
    return f"{chr(65 + i % 22)}{81000 + i:05d}"


def _practice_prefix(i: int, month: str, named: tuple[str, str] | None = None) -> str:
    """YEAR_MONTH … POSTCODE for practice ``i``, with the trailing comma (``named``: its code and
    name instead of the made-up ones)."""
    code, name = named or (practice_code(i), f"SYNTHETIC PRACTICE {i}")
    icb = i % (len(REGIONS) * ICBS_PER_REGION)
    fields = [
        month,
        "SYNTHETIC REGION",
        REGIONS[icb // ICBS_PER_REGION],
        f"SYNTHETIC ICB {icb}",
        f"Q{10 + icb:02d}",
        "SYNTHETIC SUB-ICB",
        f"{icb * PLACES_PER_ICB + i % PLACES_PER_ICB:02d}X00",
        name,
        code,
        *[""] * 5,  # ADDRESS_1..4, POSTCODE: empty, as in the samples
    ]
    return ",".join(_field(f) for f in fields) + ","


@dataclass(frozen=True)
class _Profile:
    # BNF_CHEMICAL_SUBSTANCE … BNF_CHAPTER_PLUS_CODE with the trailing comma, as bytes + mask
    middle: tuple[np.ndarray, np.ndarray]
    probability: np.ndarray  # share of the 4 real practices prescribing it
    mean_items: np.ndarray
    quantity_per_item: np.ndarray  # integral in the sample
    nic_per_unit: np.ndarray
    cost_ratio: np.ndarray
    raw_rows_per_row: np.ndarray


def _load_profile() -> _Profile:
    table = pcsv.read_csv(
        _profile_path(),
        convert_options=pcsv.ConvertOptions(
            column_types={"bnf_code": pa.string(), "bnf_name": pa.string()},
            strings_can_be_null=False,
        ),
    ).sort_by("bnf_code")
    codes = table["bnf_code"].to_pylist()
    names = table["bnf_name"].to_pylist()
    middle = [f"{c[:9]},,{c},{_field(n)},," for c, n in zip(codes, names, strict=True)]

    def num(column: str) -> np.ndarray:
        return table[column].to_numpy().astype(np.float64)

    return _Profile(
        middle=_text(middle),
        probability=num("practices") / 4.0,
        mean_items=num("mean_items"),
        quantity_per_item=np.rint(num("quantity_per_item")).astype(np.int64),
        nic_per_unit=num("nic_per_unit"),
        cost_ratio=num("cost_ratio"),
        raw_rows_per_row=num("raw_rows_per_row"),
    )


def _text(values: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Strings → a zero-padded byte matrix (one row each) and the mask of its real bytes."""
    raw = [v.encode() for v in values]
    width = max(len(b) for b in raw)
    matrix = np.zeros((len(raw), width), np.uint8)
    for i, b in enumerate(raw):
        matrix[i, : len(b)] = np.frombuffer(b, np.uint8)
    return matrix, np.arange(width)[None, :] < np.array([len(b) for b in raw])[:, None]


def _constant(text: str, rows: int) -> tuple[np.ndarray, np.ndarray]:
    matrix = np.broadcast_to(np.frombuffer(text.encode(), np.uint8), (rows, len(text)))
    return matrix, np.ones(matrix.shape, bool)


def _digits(values: np.ndarray, places: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Non-negative integers → their decimal digits, right-aligned, and the mask of the
    significant ones; ``places`` > 0 keeps exactly that many digits (the pence of a price)."""
    width = places or len(str(int(values.max()))) if values.size else 1
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    digits = (values[:, None] // powers[None, :] % 10 + 48).astype(np.uint8)
    if places:
        return digits, np.ones(digits.shape, bool)
    count = np.maximum(1, (values[:, None] >= powers[None, :]).sum(axis=1))
    return digits, np.arange(width)[None, :] >= (width - count)[:, None]


def _decimal(units: np.ndarray, places: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Integer multiples of 10**-places → "<whole>.<fraction, zero-padded>"."""
    whole, frac = np.divmod(units, 10**places)
    return [_digits(whole), _constant(".", len(units)), _digits(frac, places)]


def _block(
    profile: _Profile,
    seed: int,
    block: int,
    first: int,
    last: int,
    month: str,
    named: Sequence[tuple[str, str]] | None = None,
) -> tuple[bytes, int]:
    """The CSV lines of practices ``first`` … ``last - 1`` and their number."""
    rng = np.random.default_rng([seed, block])
    count = last - first
    # list-size factor: log-normal (sigma 0.5), mean 1
    size = np.exp(0.5 * rng.standard_normal(count) - 0.125)
    chosen = rng.random((count, len(profile.probability))) < profile.probability
    practice, code = np.nonzero(chosen)  # practice-major, codes in BNF order
    pairs = len(practice)
    # pack-size rows per practice × presentation, and the items shared among them
    k = np.floor(profile.raw_rows_per_row[code] * 1.1 + rng.random(pairs))
    k = np.maximum(1, k).astype(np.int64)
    scale = profile.mean_items[code] * size[practice] * (0.5 + rng.random(pairs))
    per_row = np.maximum(1, np.maximum(1, np.rint(scale)).astype(np.int64) // k)
    # one row per pack size j = 0 … k-1: quantity per item = usual quantity × (1 + j)
    pair = np.repeat(np.arange(pairs), k)
    j = np.arange(len(pair)) - np.repeat(np.cumsum(k) - k, k)
    code_row = code[pair]
    n = per_row[pair]
    quantity = profile.quantity_per_item[code_row] * (1 + j)
    total = quantity * n
    nic = total * profile.nic_per_unit[code_row]
    rows = len(pair)
    prefix, prefix_mask = _text(
        [
            _practice_prefix(first + i, month, named[first + i] if named else None)
            for i in range(count)
        ]
    )
    middle, middle_mask = profile.middle
    parts = [
        (prefix[practice[pair]], prefix_mask[practice[pair]]),
        (middle[code_row], middle_mask[code_row]),
        _digits(quantity),
        _constant(".0,", rows),
        _digits(n),
        _constant(",", rows),
        _digits(total),
        _constant(".0,0.0,", rows),  # TOTAL_QUANTITY, ADQUSAGE (not in the profile)
        *_decimal(np.rint(nic * 100).astype(np.int64), 2),
        _constant(",", rows),
        *_decimal(np.rint(nic * profile.cost_ratio[code_row] * 1e5).astype(np.int64), 5),
        _constant(",N" + EOL, rows),
    ]
    matrix = np.concatenate([m for m, _ in parts], axis=1)
    mask = np.concatenate([m for _, m in parts], axis=1)
    return matrix[mask].tobytes(), rows


def _blocks(
    profile: _Profile,
    seed: int,
    practices: int,
    month: str,
    threads: int,
    named: Sequence[tuple[str, str]] | None = None,
) -> Iterator[tuple[bytes, int]]:
    """Blocks in order, built ``threads`` at a time (numpy and Arrow release the GIL)."""
    starts = list(range(0, practices, BLOCK))
    with ThreadPoolExecutor(max_workers=threads) as pool:
        pending: list[Future] = []
        for index, first in enumerate(starts):
            last = min(first + BLOCK, practices)
            pending.append(pool.submit(_block, profile, seed, index, first, last, month, named))
            if len(pending) > threads:
                yield pending.pop(0).result()
        for future in pending:
            yield future.result()


def generate_national_epd(
    out_dir: Path,
    seed: int,
    practices: int = 6500,
    month: str = "2025_01",
    threads: int = 0,
    named: Sequence[tuple[str, str]] | None = None,
) -> NationalEpd:
    """Write ``out_dir/EPD_<month>.csv`` (26-column layout) and return its path and row count.

    ``named``: (code, name) of each practice to write instead of made-up ones (the demo's
    practices); ``practices`` is then their number."""
    if named is not None:
        named = list(named)
        practices = len(named)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"EPD_{month.replace('_', '')}.csv"
    tmp = path.with_suffix(".csv.tmp")
    profile = _load_profile()
    rows = 0
    try:
        with tmp.open("wb") as handle:
            handle.write((HEADER + EOL).encode())
            workers = threads or min(4, os.cpu_count() or 1)
            blocks = _blocks(profile, int(seed), int(practices), month, workers, named)
            for lines, count in blocks:
                handle.write(lines)
                rows += count
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return NationalEpd(path, rows, int(practices), month)
