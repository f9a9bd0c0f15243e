"""Prescription charge exemption: is this patient exempt on the dispensing date, and why.

Codes: EPS ``prescription-charge-exemption`` (0001 paid … 0015), with evidence seen / not seen
(``DM-exemption-evidence``), as the dispenser claims them. Each rule cites its source:

- NHSBSA, "Who is entitled to free NHS prescriptions?" (faq.nhsbsa.nhs.uk KA-25779): free "if at
  the time the prescription is dispensed" the patient is aged 60 or over (0004), under 16
  (0002), aged 16 to 18 and in full-time education (0003), pregnant or had a baby in the previous
  12 months with a valid maternity exemption certificate (0005), has a specified medical
  condition with a valid medical exemption certificate (0006), holds a valid War Pension
  exemption certificate and the prescription is for the accepted disability (0008); also HC2
  (0009) and NHS tax credit exemption certificates (0013);
- NHSBSA maternity exemption certificates (nhsbsa.nhs.uk/HealthCosts/1079.aspx): valid from one
  month before the application until 12 months after the expected (or actual) date of birth —
  the certificate's own dates, which is what is stored and checked;
- a prescription prepayment certificate covers all NHS prescriptions while it is valid (0007).

What the record cannot decide it says so: full-time education at 16–18 needs evidence seen by
the pharmacy; benefits (0011, 0012, 0014, 0015) are not on the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ipmo.prescriptions.codes import EXEMPTION_CODES

KA_25779 = "https://faq.nhsbsa.nhs.uk/knowledgebase/article/KA-25779/en-us"
MATEX = "https://www.nhsbsa.nhs.uk/HealthCosts/1079.aspx"
CERTIFICATE_CODE = {
    "maternity": "0005",
    "medical": "0006",
    "ppc": "0007",
    "hrt-ppc": "0007",
    "war-pension": "0008",
    "hc2": "0009",
    "tax-credit": "0013",
}
CERTIFICATE_NAME = {
    "maternity": "maternity exemption certificate",
    "medical": "medical exemption certificate",
    "ppc": "prescription prepayment certificate",
    "hrt-ppc": "HRT prescription prepayment certificate (HRT medicines only)",
    "war-pension": "War Pension exemption certificate (for the accepted disability only)",
    "hc2": "HC2 certificate (full help with health costs)",
    "tax-credit": "NHS tax credit exemption certificate",
}


@dataclass(frozen=True)
class Certificate:
    kind: str
    valid_from: date
    valid_to: date
    reference: str | None = None


@dataclass(frozen=True)
class Answer:
    exempt: bool | None  # None: it depends on evidence the record does not hold
    code: str  # prescription-charge-exemption
    evidence: str  # what the pharmacy must see: "record" | "certificate" | "ask"
    reason: str
    source: str

    @property
    def display(self) -> str:
        return EXEMPTION_CODES[self.code]


def age_on(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _answer(code: str, exempt: bool | None, evidence: str, reason: str, source: str) -> Answer:
    return Answer(exempt, code, evidence, reason, source)


def decide(born: date, dispensing_date: date, certificates: list[Certificate]) -> Answer:
    """The eligibility answer on ``dispensing_date`` (rules in the order above; the first that
    holds answers)."""
    age = age_on(born, dispensing_date)
    if age >= 60:
        return _answer("0004", True, "record", f"aged {age} on the dispensing date", KA_25779)
    if age < 16:
        return _answer("0002", True, "record", f"aged {age} on the dispensing date", KA_25779)
    for cert in sorted(certificates, key=lambda c: CERTIFICATE_CODE.get(c.kind, "9")):
        if cert.kind in CERTIFICATE_CODE and cert.valid_from <= dispensing_date <= cert.valid_to:
            source = MATEX if cert.kind == "maternity" else KA_25779
            name = CERTIFICATE_NAME[cert.kind]
            return _answer(
                CERTIFICATE_CODE[cert.kind],
                True,
                "certificate",
                f"holds a {name} valid until {cert.valid_to.isoformat()}",
                source,
            )
    expired = [c for c in certificates if c.valid_to < dispensing_date]
    if age <= 18:
        return _answer(
            "0003",
            None,
            "ask",
            f"aged {age}: free only if in full-time education — ask for evidence",
            KA_25779,
        )
    if expired:
        last = max(expired, key=lambda c: c.valid_to)
        reason = (
            f"pays: the {CERTIFICATE_NAME.get(last.kind, last.kind)} expired on "
            f"{last.valid_to.isoformat()}"
        )
    else:
        reason = f"pays: aged {age}, no valid exemption certificate on record"
    return _answer("0001", False, "ask", reason + " (benefits are not on the record)", KA_25779)
