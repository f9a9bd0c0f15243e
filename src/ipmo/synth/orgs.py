"""The ICS's organisations: ICB → places → PCNs → practices; pharmacies, trusts, care homes, 111.

Small (hundreds of rows), so plain Python; every random choice comes from the generator passed in.
Pharmacy services and opening hours follow the Community Pharmacy Contractual Framework shapes:
most pharmacies offer Pharmacy First and DMS; a few "100-hour" pharmacies open late and on Sundays.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from ipmo.organisations import OrgKind, PharmacyService
from ipmo.synth import sizes as codes
from ipmo.synth.sizes import Size

TOWNS = [
    "Ashford Vale",
    "Brookmere",
    "Calderbridge",
    "Dunmoor",
    "Elmsworth",
    "Fenwick",
    "Greyhaven",
    "Holloway Cross",
    "Ivybridge Lea",
    "Kestrel Down",
]
STREETS = [
    "High Street",
    "Market Square",
    "Station Road",
    "Church Lane",
    "Mill Road",
    "Park View",
    "Victoria Road",
    "Bridge Street",
    "Queens Parade",
    "Orchard Way",
]
CENTRE = (52.60, -1.55)

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


@dataclass
class Orgs:
    rows: list[dict]
    place_of_practice: np.ndarray  # place index of each practice
    practice_weight: np.ndarray  # share of the registered population per practice
    practice_imd: np.ndarray
    practice_codes: list[str]
    pharmacy_codes: list[str]
    pharmacy_place: np.ndarray
    care_home_codes: list[str]
    care_home_place: np.ndarray
    trust_codes: list[str]
    place_outward: list[str]


def _hours(rng: np.random.Generator) -> dict[str, list[list[str]]]:
    r = rng.random()
    if r < 0.1:  # "100-hour" pharmacy
        return {d: [["07:00", "23:00"]] for d in [*WEEKDAYS, "sat", "sun"]}
    hours = {d: [["09:00", "18:00"]] for d in WEEKDAYS}
    if r < 0.75:
        hours["sat"] = [["09:00", "13:00"]]
    if r < 0.2:
        hours["sun"] = [["10:00", "16:00"]]
    return hours


def _services(rng: np.random.Generator) -> list[str]:
    offered = [PharmacyService.NMS, PharmacyService.DMS]
    for service, share in (
        (PharmacyService.PHARMACY_FIRST, 0.92),
        (PharmacyService.URGENT_SUPPLY, 0.85),
        (PharmacyService.HYPERTENSION, 0.75),
        (PharmacyService.CONTRACEPTION, 0.5),
    ):
        if rng.random() < share:
            offered.append(service)
    return [str(s) for s in offered]


def build_orgs(size: Size, rng: np.random.Generator) -> Orgs:
    rows: list[dict] = []

    def add(code, name, kind, parent, lat, lon, postcode=None, imd=None, services=(), hours=None):
        rows.append(
            {
                "ods_code": code,
                "name": name,
                "kind": str(kind),
                "parent_code": parent,
                "postcode": postcode,
                "latitude": round(lat, 5),
                "longitude": round(lon, 5),
                "imd_decile": imd,
                "services": json.dumps(list(services)),
                "opening_hours": json.dumps(hours or {}),
                "active": True,
            }
        )

    add(codes.icb_code(), "NHS Synthetic Shire Integrated Care Board", OrgKind.ICB, None, *CENTRE)
    place_ll = []
    outward = []
    for i in range(size.places):
        angle = 2 * np.pi * i / max(size.places, 1)
        lat, lon = CENTRE[0] + 0.18 * np.sin(angle), CENTRE[1] + 0.28 * np.cos(angle)
        place_ll.append((lat, lon))
        outward.append(f"ZX{i + 1}")
        add(
            codes.place_code(i),
            f"{TOWNS[i % len(TOWNS)]} Place",
            OrgKind.PLACE,
            codes.icb_code(),
            lat,
            lon,
        )

    def near(place: int, spread: float = 0.05) -> tuple[float, float]:
        lat, lon = place_ll[place]
        return lat + rng.normal(0, spread), lon + rng.normal(0, spread * 1.6)

    def postcode(place: int) -> str:
        return (
            f"{outward[place]} {rng.integers(1, 10)}{chr(65 + rng.integers(0, 26))}"
            f"{chr(65 + rng.integers(0, 26))}"
        )

    pcn_place = np.arange(size.pcns) % size.places
    for i in range(size.pcns):
        town = TOWNS[pcn_place[i] % len(TOWNS)]
        add(
            codes.pcn_code(i),
            f"{town} PCN {i // size.places + 1}",
            OrgKind.PCN,
            codes.place_code(int(pcn_place[i])),
            *near(int(pcn_place[i])),
        )

    practice_pcn = np.arange(size.practices) % size.pcns
    place_of_practice = pcn_place[practice_pcn]
    practice_imd = rng.integers(1, 11, size.practices)
    weight = rng.lognormal(0, 0.45, size.practices)
    weight = weight / weight.sum()
    practice_codes = [codes.practice_code(i) for i in range(size.practices)]
    for i in range(size.practices):
        place = int(place_of_practice[i])
        street = STREETS[i % len(STREETS)]
        add(
            practice_codes[i],
            f"{street} Surgery, {TOWNS[place % len(TOWNS)]}",
            OrgKind.PRACTICE,
            codes.pcn_code(int(practice_pcn[i])),
            *near(place),
            postcode=postcode(place),
            imd=int(practice_imd[i]),
        )

    pharmacy_place = np.arange(size.pharmacies) % size.places
    pharmacy_codes = [codes.pharmacy_code(i) for i in range(size.pharmacies)]
    for i in range(size.pharmacies):
        place = int(pharmacy_place[i])
        street = STREETS[(i * 3) % len(STREETS)]
        add(
            pharmacy_codes[i],
            f"{street} Pharmacy, {TOWNS[place % len(TOWNS)]}",
            OrgKind.PHARMACY,
            codes.place_code(place),
            *near(place),
            postcode=postcode(place),
            services=_services(rng),
            hours=_hours(rng),
        )

    trust_codes = [codes.trust_code(i) for i in range(size.trusts)]
    for i in range(size.trusts):
        place = i % size.places
        add(
            trust_codes[i],
            f"{TOWNS[place % len(TOWNS)]} Hospitals NHS Foundation Trust",
            OrgKind.TRUST,
            codes.icb_code(),
            *near(place, 0.02),
            postcode=postcode(place),
        )

    care_home_place = np.arange(size.care_homes) % size.places
    care_home_codes = [codes.care_home_code(i) for i in range(size.care_homes)]
    for i in range(size.care_homes):
        place = int(care_home_place[i])
        kind = "nursing" if rng.random() < 0.45 else "residential"
        add(
            care_home_codes[i],
            f"{STREETS[(i * 7) % len(STREETS)].split()[0]} House Care Home {i + 1}",
            OrgKind.CARE_HOME,
            codes.place_code(place),
            *near(place),
            postcode=postcode(place),
            services=[kind],
        )

    add(
        codes.nhs111_code(),
        "Synthetic Shire NHS 111",
        OrgKind.NHS111,
        codes.icb_code(),
        *CENTRE,
        hours={d: [["00:00", "24:00"]] for d in [*WEEKDAYS, "sat", "sun"]},
    )
    return Orgs(
        rows,
        place_of_practice,
        weight,
        practice_imd,
        practice_codes,
        pharmacy_codes,
        pharmacy_place,
        care_home_codes,
        care_home_place,
        trust_codes,
        outward,
    )
