"""The shared input helpers of `stages.cleaning`."""

import pytest
from django import forms

from stages.cleaning import INT_MAX, IdField, parse_int, parse_pk


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", 0),
        ("42", 42),
        (" 7 ", 7),
        ("+3", 3),
        (str(INT_MAX), INT_MAX),
        (5, 5),
        (5.0, 5),
        (INT_MAX, INT_MAX),
        (str(INT_MAX + 1), None),
        (INT_MAX + 1, None),
        ("1" * 20, None),
        ("9" * 5000, None),
        ("-1", None),
        (-1, None),
        ("", None),
        (None, None),
        ("abc", None),
        ("1e3", None),
        ("1e999", None),
        ("1.5", None),
        ("٣", None),  # an Arabic-Indic digit: int() takes it, an id in a URL never holds it
        (float("inf"), None),
        (float("nan"), None),
        (1e300, None),
        (2.5, None),
        (True, None),
        ([1], None),
        ({"a": 1}, None),
    ],
)
def test_parse_int_takes_whole_numbers_in_range_only(value, expected):
    assert parse_int(value) == expected


def test_parse_int_takes_its_bounds():
    assert parse_int("-5", minimum=-10) == -5
    assert parse_int("11", maximum=10) is None
    assert parse_int("10", maximum=10) == 10


def test_parse_pk_starts_at_one():
    assert parse_pk("0") is None
    assert parse_pk("1") == 1


class _IdForm(forms.Form):
    id = IdField()


@pytest.mark.parametrize(
    ("value", "valid"), [("1", True), (str(INT_MAX), True), ("0", False), (str(INT_MAX + 1), False)]
)
def test_id_field_takes_ids_the_database_can_hold(value, valid):
    assert _IdForm({"id": value}).is_valid() is valid
