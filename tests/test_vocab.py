"""Labelled code lists (``ipmo.vocab``): each word declared once with the name people read."""

from __future__ import annotations

import pytest

from ipmo.vocab import Labelled, labels


class Colour(Labelled):
    RED = "red", "Red (stop)"
    AMBER = "amber", "Amber"


def test_a_labelled_member_is_its_plain_value():
    assert Colour.RED == "red"
    assert str(Colour.RED) == "red"
    assert Colour("amber") is Colour.AMBER
    assert Colour.RED.label == "Red (stop)"


def test_labels_are_found_by_member_or_by_stored_string_in_declaration_order():
    table = labels(Colour)
    assert list(table) == [Colour.RED, Colour.AMBER]
    assert table["amber"] == table[Colour.AMBER] == "Amber"


def test_a_member_declared_without_its_label_is_refused():
    with pytest.raises(TypeError, match="needs its label"):

        class Unlabelled(Labelled):
            GREEN = "green"


def test_an_unknown_value_is_not_a_member():
    with pytest.raises(ValueError):
        Colour("blue")
