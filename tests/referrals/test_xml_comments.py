"""XML comments are removed by the shared FHIR parser (``ipmo.fhir.versions``) before validation:
fhir.resources' XML reader otherwise takes a comment for an extension and rejects the resource."""

from __future__ import annotations

import pytest

from ipmo.fhir.versions import FhirInputError, read_fhir, strip_xml_comments

STATEMENT = """<?xml version="1.0" encoding="UTF-8"?>
<!-- An explanatory comment before the root element, as in the BaRS and UK Core examples -->
<MedicationStatement xmlns="http://hl7.org/fhir">
  <!-- a comment that mentions <profile value="https://fhir.hl7.org.uk/STU3/x"/> -->
  <id value="ms-1"/>
  <status value="active"/>{extra}
  <medicationCodeableConcept>
    <!-- and one inside an element -->
    <text value="Amlodipine 5mg tablets"/>
  </medicationCodeableConcept>
  <subject><reference value="Patient/p1"/></subject>
</MedicationStatement>
"""


def test_xml_with_comments_is_read_as_the_same_resource():
    doc = read_fhir(STATEMENT.format(extra=""), version="R4")
    assert doc.source_format == "xml"
    assert doc.resource["id"] == "ms-1" and doc.resource["status"] == "active"
    assert doc.resource["medicationCodeableConcept"] == {"text": "Amlodipine 5mg tablets"}
    assert "extension" not in doc.resource


def test_comments_do_not_decide_the_version():
    # the only profile-looking text is inside a comment: R4 is tried first and succeeds
    assert read_fhir(STATEMENT.format(extra="")).version == "R4"


def test_stripping_comments_does_not_hide_real_errors():
    with pytest.raises(FhirInputError, match="not a valid FHIR R4 MedicationStatement"):
        read_fhir(STATEMENT.format(extra='\n  <colour value="red"/>'), version="R4")


def test_cdata_is_kept_and_comments_go():
    text = "<a><!-- x --><b><![CDATA[ <!-- not a comment --> ]]></b><!--\ny\n--></a>"
    assert strip_xml_comments(text) == "<a><b><![CDATA[ <!-- not a comment --> ]]></b></a>"
