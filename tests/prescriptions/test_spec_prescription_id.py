"""EPS short-form prescription ID check character (ISO/IEC 7064 MOD 37-2), per the EPS
prescription ID specification cited in ``ipmo.prescriptions.ids``."""

from __future__ import annotations

import json
import re

from ipmo.prescriptions import valid_prescription_id
from ipmo.prescriptions.ids import ALPHABET, check_character

ID_PATTERN = re.compile(r'"([0-9A-F]{6}-[0-9A-Z]{6}-[0-9A-F]{5}[0-9A-Z+])"')


def _shared_ids(shared_dir) -> set[str]:
    found: set[str] = set()
    eps = shared_dir / "fhir" / "eps"
    for path in list(eps.glob("messages/*.json")) + list(eps.glob("tracker_api/examples/*/*.json")):
        found.update(ID_PATTERN.findall(path.read_text()))
    return found


def test_spec_every_prescription_id_in_the_nhs_examples_passes(shared_dir):
    ids = _shared_ids(shared_dir)
    assert len(ids) >= 15  # the messages and tracker examples carry many distinct IDs
    assert "507FE8-A83008-4A859+" in ids  # a "+" check character is among them
    assert [i for i in ids if not valid_prescription_id(i)] == []


def test_spec_a_wrong_check_character_fails(shared_dir):
    ids = _shared_ids(shared_dir)
    assert ids, "the shared examples carry prescription IDs"
    for pid in ids:
        right = pid[-1]
        for wrong in ALPHABET:
            if wrong != right:
                assert not valid_prescription_id(pid[:-1] + wrong), (pid, wrong)


def test_spec_one_changed_or_swapped_character_is_caught():
    pid = "24F5DA-A83008-7EFE6Z"
    assert valid_prescription_id(pid)
    assert not valid_prescription_id("24F5DB-A83008-7EFE6Z")  # one substitution
    assert not valid_prescription_id("245FDA-A83008-7EFE6Z")  # adjacent transposition


def test_spec_check_character_is_computed_over_the_17_characters_without_hyphens():
    assert check_character("24F5DAA830087EFE6") == "Z"
    assert check_character("507FE8A830084A859") == "+"


def test_spec_malformed_ids_fail():
    for bad in (
        "",
        "24F5DA-A83008-7EFE6",  # 17 characters
        "24F5DAA830087EFE6Z",  # no hyphens
        "24f5da-a83008-7efe6z",  # lower case: EPS IDs are upper case
        "24F5DA-A83008-7EFE6Z ",
        "G4F5DA-A83008-7EFE6Z",  # not hex in the random part
        "942fd768-d9a6-4062-8768-6e2faa486c38",  # the long-form (UUID) ID is another identifier
        json.dumps("24F5DA-A83008-7EFE6Z"),
    ):
        assert not valid_prescription_id(bad), bad
