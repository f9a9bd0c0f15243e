"""Helpers for the referral API tests: an always-open pharmacy (so tests do not depend on the
clock) and BaRS message posting."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import select, update

from ipmo.organisations.models import Organisation, OrgKind
from ipmo.referrals.message_builder import build_referral_message
from ipmo.referrals.models import Referral
from ipmo.store import session_scope

ALWAYS = {d: [["00:00", "00:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
ALL = [
    "pharmacy-first",
    "urgent-repeat-supply",
    "discharge-medicines-service",
    "contraception",
    "hypertension-case-finding",
]


def always_open(engine, *codes: str) -> None:
    with session_scope(engine) as s:
        for code in codes:
            found = s.scalar(select(Organisation).where(Organisation.ods_code == code))
            if found is None:
                s.add(
                    Organisation(
                        ods_code=code,
                        name=f"Pharmacy {code}",
                        kind=OrgKind.PHARMACY,
                        parent_code="00X",
                        services=ALL,
                        opening_hours=ALWAYS,
                    )
                )
            else:
                s.execute(
                    update(Organisation)
                    .where(Organisation.ods_code == code)
                    .values(opening_hours=ALWAYS)
                )


def message(**kw) -> dict:
    kw.setdefault("message_id", str(uuid.uuid4()))
    kw.setdefault("service", "urgent-repeat-supply")
    kw.setdefault("patient_name", "Ada Smith")
    kw.setdefault("nhs_number", "9990000018")
    return build_referral_message(**kw)


def post(client, body: dict | str | bytes, content_type: str = "application/fhir+json"):
    data = json.dumps(body) if isinstance(body, dict) else body
    return client.post(
        "/fhir/R4/$process-message", content=data, headers={"content-type": content_type}
    )


def referrals(engine) -> list[Referral]:
    with session_scope(engine) as s:
        rows = s.scalars(select(Referral).order_by(Referral.id)).all()
        s.expunge_all()
        return rows
