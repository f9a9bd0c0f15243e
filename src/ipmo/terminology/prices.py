"""Drug Tariff prices per unit from dm+d (the VMPP's ``DRUG_TARIFF_INFO`` price, in pence).

The dictionary holds a price only when it was loaded from an NHSBSA dm+d release that carries
one (``ipmo terminology import-dmd``); the shipped starter dictionary (public codelists) has
none, and then the answer for a medicine is "no price" (absent from the result), never a guess.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ipmo.terminology.models import DmdAmp, DmdVmpp


@dataclass(frozen=True)
class UnitPrice:
    pence: float  # Drug Tariff price of one unit of the pack (e.g. one tablet, one gram)
    unit: str | None  # the pack's unit of quantity as dm+d names it
    pack: str  # the VMPP the price comes from


def unit_prices(session: Session, codes: Iterable[str]) -> dict[str, UnitPrice]:
    """For each dm+d VMP or AMP code (an AMP through its VMP), the Drug Tariff price of one unit.

    A VMP with several priced packs takes the lowest price per unit (ipmo's choice: waste is
    then never overstated). Codes with no priced pack are left out: "no price"."""
    wanted = set(codes)
    if not wanted:
        return {}
    vmp_of = {code: code for code in wanted}
    for apid, vpid in session.execute(
        select(DmdAmp.id, DmdAmp.vmp_id).where(DmdAmp.id.in_(wanted))
    ):
        if vpid:
            vmp_of[apid] = vpid
    best: dict[str, UnitPrice] = {}
    for vpid, name, qty, unit, price in session.execute(
        select(
            DmdVmpp.vmp_id, DmdVmpp.name, DmdVmpp.qty_value, DmdVmpp.qty_unit, DmdVmpp.price_pence
        )
        .where(DmdVmpp.vmp_id.in_(set(vmp_of.values())), DmdVmpp.price_pence.is_not(None))
        .where(DmdVmpp.qty_value > 0, DmdVmpp.invalid.is_(False))
    ):
        if vpid is None or price is None or not qty:
            continue
        per_unit = price / qty
        if vpid not in best or per_unit < best[vpid].pence:
            best[vpid] = UnitPrice(per_unit, unit, name)
    return {code: best[vpid] for code, vpid in vmp_of.items() if vpid in best}
