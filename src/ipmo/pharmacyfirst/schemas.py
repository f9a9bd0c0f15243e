"""Request and response models of the Pharmacy First API (``pharmacyfirst/api.py``), so
/openapi.json describes every body. A consultation holds a patient's NHS number: every read is
relationship-checked and audited by the use case (``actions``), never by these models."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ipmo.web.params import DB_INT_MAX

Answer = bool | int | None


class NewConsultationIn(BaseModel):
    nhs_number: str = Field(max_length=20)
    kind: str = Field("clinical-pathway", max_length=30)  # clinical-pathway | urgent-supply
    channel: str = Field("walk-in", max_length=20)  # walk-in (others come from the referral)
    pathway: str | None = Field(None, max_length=40)
    referral: str | None = Field(None, max_length=20)  # the referral's reference
    consulted_on: date
    # a walk-in with no other relationship: the pharmacist states the patient is present
    patient_present: bool = False


class VersionIn(BaseModel):
    version: int | None = Field(None, ge=0, le=DB_INT_MAX)


class AssessmentIn(VersionIn):
    answers: dict[str, Answer] = Field(default_factory=dict, max_length=50)
    red_flags: list[str] = Field(default_factory=list, max_length=20)


class ItemIn(BaseModel):
    dmd_code: str | None = Field(None, max_length=20)
    name: str | None = Field(None, max_length=255)  # urgent supply: the medicine asked for
    quantity: float | None = Field(None, ge=0, le=100000)
    unit: str | None = Field(None, max_length=30)
    days: int | None = Field(None, ge=0, le=3650)
    dose_text: str | None = Field(None, max_length=255)
    outcome: str = Field("supplied", max_length=20)  # urgent supply items: supplied | no-supply
    reason: str | None = Field(None, max_length=60)
    pack_exception: str | None = Field(None, max_length=30)
    epilepsy: bool = False
    immediate_need: bool = False


class OutcomeIn(VersionIn):
    outcome: str = Field(max_length=30)  # supplied | advice-given | referred-on | no-supply
    consent: bool
    reason: str | None = Field(None, max_length=60)
    referred_to: str | None = Field(None, max_length=20)
    urgency: str | None = Field(None, max_length=20)
    advice: str | None = Field(None, max_length=4000)
    items: list[ItemIn] = Field(default_factory=list, max_length=20)


class CriterionRead(BaseModel):
    id: str
    text: str
    met: bool | None  # None: not answered yet
    why: str
    source: str


class TreatmentRead(BaseModel):
    id: str
    title: str
    allowed: bool
    reasons: list[str]
    max_quantity: float
    unit: str


class ItemRead(BaseModel):
    dmd_code: str | None
    name: str
    supply_type: str
    outcome: str
    no_supply_reason: str | None
    quantity: float | None
    unit: str | None
    days: int | None


class ConsultationRead(BaseModel):
    reference: str
    version: int
    kind: str
    channel: str
    referral: str | None
    pharmacy: str
    nhs_number: str
    consulted_on: date
    pathway: str | None
    pathway_version: str | None
    status: str
    answers: dict[str, Answer]
    red_flags: list[str]
    findings: list[str]
    gateway_passed: bool | None
    gateway_failed: str | None
    gateway_reason: str | None
    gateway: list[CriterionRead] = []
    supply_criteria: list[CriterionRead] = []
    treatments: list[TreatmentRead] = []
    outcome: str | None
    no_supply_reason: str | None
    referred_to: str | None
    referral_urgency: str | None
    consent: bool
    items: list[ItemRead]
    completed_at: datetime | None
    update_record_sent_at: datetime | None


class QuestionRead(BaseModel):
    id: str
    text: str
    kind: str


class RuleRead(BaseModel):
    id: str
    text: str
    source: str


class RedFlagRead(RuleRead):
    urgency: str


class PathwayTreatmentRead(BaseModel):
    id: str
    title: str
    supply_type: str
    dose: str
    max_quantity: float
    unit: str
    days: int
    products: int  # how many dm+d products the codelist gives it
    source: str


class PathwayRead(BaseModel):
    code: str
    title: str
    population: str
    version: date
    condition: str
    questions: list[QuestionRead]
    gateway: list[RuleRead]
    supply_criteria: list[RuleRead]
    red_flags: list[RedFlagRead]
    treatments: list[PathwayTreatmentRead]


class ClaimRead(BaseModel):
    reference: str
    pharmacy: str
    month: str
    consulted_on: date
    kind: str
    pathway: str | None
    outcome: str | None
    ready: bool
    missing: list[str]


class UpdateRecordBundle(BaseModel):
    """The GP Connect Update Record: an ITK3 message Bundle (FHIR STU3 JSON)."""

    model_config = ConfigDict(extra="allow")

    resourceType: Literal["Bundle"]
    type: Literal["message"]
    meta: dict[str, Any]
    identifier: dict[str, str]
    entry: list[dict[str, Any]]
