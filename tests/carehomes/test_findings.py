"""One spec test per finding rule, named after it (sources cited in carehomes/findings.py)."""

from datetime import UTC, date, datetime, timedelta

from ipmo.carehomes.administrations import Administration
from ipmo.carehomes.findings import (
    antipsychotic_in_dementia,
    covert_without_best_interests,
    prn_never_used,
    prn_used_regularly,
    repeated_refusals_or_omissions,
    time_critical_late,
)

AS_OF = datetime(2026, 3, 15, 20, 0, tzinfo=UTC)
_n = iter(range(10_000))


def adm(
    outcome,
    day,
    hour=8,
    *,
    code="222",
    name="Sertraline 50mg tablets",
    prn=False,
    covert=False,
    late_min=None,
):
    at = datetime(2026, 3, day, hour, 0, tzinfo=UTC)
    sched = None
    if late_min is not None:
        sched, at = at, at + timedelta(minutes=late_min)
    return Administration(
        f"a{next(_n)}", "9000000009", code, name, outcome, at, sched, prn=prn, covert=covert
    )


def test_nice_sc1_repeated_refusals_or_omissions_3_in_7_days():
    admins = [adm("refused", 8), adm("omitted", 10), adm("refused", 14), adm("given", 15)]
    found = repeated_refusals_or_omissions(admins, AS_OF)
    assert [f.rule for f in found] == ["repeated-refusals-or-omissions"]
    assert found[0].evidence == tuple(a.identifier for a in admins[:3])


def test_nice_sc1_repeated_refusals_or_omissions_negative():
    # spread over more than 7 days, withheld doses, PRN doses and other medicines do not count
    assert (
        repeated_refusals_or_omissions(
            [adm("refused", 1), adm("refused", 5), adm("refused", 9)], AS_OF
        )
        == []
    )
    assert (
        repeated_refusals_or_omissions(
            [adm("refused", 10), adm("withheld", 11), adm("omitted", 12)], AS_OF
        )
        == []
    )
    assert (
        repeated_refusals_or_omissions(
            [
                adm("refused", 10, prn=True),
                adm("refused", 11, prn=True),
                adm("refused", 12, prn=True),
            ],
            AS_OF,
        )
        == []
    )
    assert (
        repeated_refusals_or_omissions(
            [adm("refused", 10), adm("refused", 11), adm("refused", 12, code="333")], AS_OF
        )
        == []
    )


def test_nice_sc1_prn_used_regularly_5_of_7_days():
    admins = [
        adm("given", d, code="111", name="Paracetamol", prn=True) for d in (9, 10, 12, 13, 15)
    ]
    found = prn_used_regularly(admins, AS_OF)
    assert [(f.rule, f.medicine_code) for f in found] == [("prn-used-regularly", "111")]


def test_nice_sc1_prn_used_regularly_negative():
    # 4 days; several doses on one day count once; regular medicines are not PRN
    four = [adm("given", d, code="111", prn=True) for d in (9, 10, 12, 13)]
    twice = [adm("given", 13, 9, code="111", prn=True), adm("given", 13, 18, code="111", prn=True)]
    assert prn_used_regularly(four + twice, AS_OF) == []
    assert prn_used_regularly([adm("given", d) for d in (9, 10, 11, 12, 13, 14)], AS_OF) == []
    # refused PRN offers are not use
    assert prn_used_regularly([adm("refused", d, prn=True) for d in range(9, 16)], AS_OF) == []


def test_nice_sc1_prn_never_used_in_28_days():
    on_record = {"444": ("Lactulose", date(2026, 1, 1))}
    found = prn_never_used([adm("given", 1, code="111", prn=True)], on_record, AS_OF)
    assert [(f.rule, f.medicine_code) for f in found] == [("prn-never-used", "444")]


def test_nice_sc1_prn_never_used_negative():
    on_record = {"444": ("Lactulose", date(2026, 1, 1))}
    assert prn_never_used([adm("given", 3, code="444", prn=True)], on_record, AS_OF) == []
    # started less than 28 days ago: too soon to say
    assert prn_never_used([], {"444": ("Lactulose", date(2026, 3, 1))}, AS_OF) == []


def test_nice_sc1_covert_without_best_interests():
    admins = [adm("given", 10, covert=True), adm("given", 11)]
    found = covert_without_best_interests(admins, set())
    assert [(f.rule, f.evidence) for f in found] == [
        ("covert-without-best-interests", (admins[0].identifier,))
    ]


def test_nice_sc1_covert_without_best_interests_negative():
    assert covert_without_best_interests([adm("given", 10, covert=True)], {"222"}) == []
    assert covert_without_best_interests([adm("given", 10)], set()) == []


def test_parkinsons_get_it_on_time_time_critical_late_over_30_minutes():
    admins = [adm("given", 10, code="555", name="Co-careldopa 25mg/100mg tablets", late_min=31)]
    found = time_critical_late(admins)
    assert [(f.rule, f.medicine_code) for f in found] == [("time-critical-late", "555")]


def test_parkinsons_get_it_on_time_time_critical_late_negative():
    name = "Co-careldopa 25mg/100mg tablets"
    assert time_critical_late([adm("given", 10, code="555", name=name, late_min=30)]) == []
    # not time-critical; no scheduled time; not given
    assert time_critical_late([adm("given", 10, late_min=90)]) == []
    assert time_critical_late([adm("given", 10, code="555", name=name)]) == []
    assert time_critical_late([adm("refused", 10, code="555", name=name, late_min=90)]) == []


def test_nice_ng97_antipsychotic_in_dementia_reassess_within_6_weeks():
    """NICE NG97 1.7: an antipsychotic for a person with dementia is reassessed at least every
    6 weeks; one given in the last 6 weeks to a resident with dementia is a finding."""
    admins = [adm("given", d, code="666", name="Risperidone 500microgram tablets") for d in (1, 2)]
    found = antipsychotic_in_dementia(admins, True, AS_OF)
    assert [(f.rule, f.medicine_code, len(f.evidence)) for f in found] == [
        ("antipsychotic-in-dementia", "666", 2)
    ]


def test_nice_ng97_antipsychotic_in_dementia_negative():
    risperidone = [adm("given", 1, code="666", name="Risperidone 500microgram tablets")]
    # no dementia diagnosis; not an antipsychotic; refused; last given over 6 weeks ago
    assert antipsychotic_in_dementia(risperidone, False, AS_OF) == []
    assert antipsychotic_in_dementia([adm("given", 1)], True, AS_OF) == []
    refused = [adm("refused", 1, code="666", name="Risperidone 500microgram tablets")]
    assert antipsychotic_in_dementia(refused, True, AS_OF) == []
    assert antipsychotic_in_dementia(risperidone, True, AS_OF + timedelta(weeks=6, days=1)) == []
