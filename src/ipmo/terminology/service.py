"""Store-backed terminology lookups: the functions other domains call (see ``__init__``)."""

from __future__ import annotations

import re

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from ipmo.terminology.concept import Concept
from ipmo.terminology.models import DmdAmp, DmdAmpp, DmdCodeMap, DmdVmp, DmdVmpp, DmdVtm

_MAX_HOPS = 10


def _vmp_vtm(session: Session, vmp_id: str | None) -> tuple[DmdVmp | None, str | None]:
    vmp = session.get(DmdVmp, vmp_id) if vmp_id else None
    return vmp, (vmp.vtm_id if vmp else None)


def _find(session: Session, code: str) -> Concept | None:
    if (vtm := session.get(DmdVtm, code)) is not None:
        return Concept(vtm.id, "VTM", vtm.name, vtm_id=vtm.id, invalid=vtm.invalid)
    if (vmp := session.get(DmdVmp, code)) is not None:
        return Concept(vmp.id, "VMP", vmp.name, vmp_id=vmp.id, vtm_id=vmp.vtm_id,
                       bnf_code=vmp.bnf_code, form=vmp.form, route=vmp.route,
                       invalid=vmp.invalid)  # fmt: skip
    if (amp := session.get(DmdAmp, code)) is not None:
        parent, vtm_id = _vmp_vtm(session, amp.vmp_id)
        return Concept(amp.id, "AMP", amp.name, vmp_id=amp.vmp_id, vtm_id=vtm_id,
                       bnf_code=amp.bnf_code, form=parent.form if parent else None,
                       route=parent.route if parent else None, supplier=amp.supplier,
                       invalid=amp.invalid)  # fmt: skip
    if (vmpp := session.get(DmdVmpp, code)) is not None:
        parent, vtm_id = _vmp_vtm(session, vmpp.vmp_id)
        return Concept(vmpp.id, "VMPP", vmpp.name, vmp_id=vmpp.vmp_id, vtm_id=vtm_id,
                       bnf_code=vmpp.bnf_code, form=parent.form if parent else None,
                       route=parent.route if parent else None, invalid=vmpp.invalid)  # fmt: skip
    if (ampp := session.get(DmdAmpp, code)) is not None:
        amp = session.get(DmdAmp, ampp.amp_id) if ampp.amp_id else None
        vmp_id = amp.vmp_id if amp else None
        if vmp_id is None and ampp.vmpp_id and (vmpp := session.get(DmdVmpp, ampp.vmpp_id)):
            vmp_id = vmpp.vmp_id
        parent, vtm_id = _vmp_vtm(session, vmp_id)
        return Concept(ampp.id, "AMPP", ampp.name, vmp_id=vmp_id, vtm_id=vtm_id,
                       bnf_code=ampp.bnf_code, form=parent.form if parent else None,
                       route=parent.route if parent else None,
                       supplier=amp.supplier if amp else None, invalid=ampp.invalid)  # fmt: skip
    return None


def lookup(session: Session, code: str) -> Concept | None:
    """The concept for any dm+d id (VTM, VMP, AMP, VMPP or AMPP), following previous ids
    (``VPIDPREV`` and the like) to the current concept; ``None`` if unknown."""
    code = (code or "").strip()
    if not code.isdigit():
        return None
    asked = code
    for _ in range(_MAX_HOPS):
        if (concept := _find(session, code)) is not None:
            return concept if code == asked else concept.with_replaced(asked)
        if (m := session.get(DmdCodeMap, code)) is None:
            return None
        code = m.new_id
    return None


def resolve_to_vmp_vtm(session: Session, code: str) -> tuple[str | None, str | None]:
    """``(vmp_id, vtm_id)`` for any dm+d id, ``(None, None)`` when unknown. A VTM gives
    ``(None, vtm_id)``; an AMP whose VMP is not known gives ``(None, None)``."""
    c = lookup(session, code)
    return (c.vmp_id, c.vtm_id) if c else (None, None)


def search(session: Session, text: str, limit: int = 20) -> list[Concept]:
    """Concepts whose name contains every word of ``text`` (case-insensitive): VTMs first, then
    VMPs, then AMPs, shorter names first. A digits-only ``text`` is looked up as an id."""
    text = (text or "").strip()
    if text.isdigit():
        c = lookup(session, text)
        return [c] if c else []
    words = [w for w in re.split(r"\s+", text.lower()) if w][:8]
    if not words or limit <= 0:
        return []
    found: list[Concept] = []
    for model in (DmdVtm, DmdVmp, DmdAmp):
        cond = and_(*[func.lower(model.name).contains(w, autoescape=True) for w in words])
        stmt = (
            select(model.id)
            .where(cond)
            .order_by(func.length(model.name), model.name, model.id)
            .limit(limit - len(found))
        )
        for code in session.scalars(stmt):
            if (c := _find(session, code)) is not None:
                found.append(c)
        if len(found) >= limit:
            break
    return found[:limit]
