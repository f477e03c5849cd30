"""Cleaning untrusted input that every app takes: ids and numbers from query strings and forms,
and names that people read.

It lives in `stages`, on the bottom layer, so that `opportunities` and `pipeline` use the same
rules. `people` shares that layer and may not import it: its Team admin gets `NameField` from
`opportunities/admin.py`.

Ids: the database's integers stop at 2**63 - 1 (a bigint). A larger number, `inf`, or a string of
a thousand digits must be refused as bad input before it reaches a query, where it would overflow
the database driver instead (a 500). `parse_int` is the one way to read such a parameter by hand;
`IdField` and `ModelMultipleIdField` are the form fields that use it.

Names: invisible format characters (Unicode category Cf: bidi overrides and isolates, zero-width
spaces and joiners, the byte-order mark, word joiners, soft hyphens…) let a name look like another
one or reorder the text around it wherever it is shown. They have no place in a name, so
`clean_text` drops them, and control characters (category Cc) with them: a name is one line.
"""

import re
import unicodedata

from django import forms
from django.core.exceptions import ValidationError
from django.db import models

# The largest primary key, version or offset the database can hold (PostgreSQL's bigint and
# SQLite's INTEGER both stop here).
INT_MAX = 2**63 - 1

_DIGITS = re.compile(r"[+-]?[0-9]{1,19}")
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Cc"})


def parse_int(value, *, minimum: int = 0, maximum: int = INT_MAX) -> int | None:
    """`value` as an int from `minimum` to `maximum`, or None when it is anything else.

    Takes what query strings, forms and JSON carry: text of ASCII digits, ints, and floats with
    no fraction. Refuses booleans, fractions, nan and inf, exponents ("1e999") and numbers out
    of range. Text longer than 19 digits is refused before `int()` would spend time on it.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not _DIGITS.fullmatch(text):
            return None
        number = int(text)
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():  # False for nan and inf
        number = int(value)
    else:
        return None
    return number if minimum <= number <= maximum else None


def parse_pk(value) -> int | None:
    """`value` as a primary key (1 to INT_MAX), or None."""
    return parse_int(value, minimum=1)


def clean_text(value: str) -> str:
    """`value` without invisible format and control characters, stripped of surrounding space."""
    if not value.isascii() or not value.isprintable():
        value = "".join(ch for ch in value if unicodedata.category(ch) not in _INVISIBLE_CATEGORIES)
    return value.strip()


class NameField(forms.CharField):
    """A CharField for names and titles: drops invisible characters before `required` and
    `max_length` are checked, so a name made only of zero-width spaces is an empty name."""

    def to_python(self, value):
        value = super().to_python(value)
        return clean_text(value) if value else value


class IdField(forms.IntegerField):
    """An integer form field for ids: 1 to INT_MAX, so that any id it passes fits a query."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", INT_MAX)
        super().__init__(**kwargs)


class ModelMultipleIdField(forms.ModelMultipleChoiceField):
    """A ModelMultipleChoiceField that refuses values that cannot be ids before it queries
    (Django's own looks them up with `pk__in`, which overflows the driver on huge numbers)."""

    def _check_values(self, value):
        for pk in value:
            if self.to_field_name is None and parse_pk(pk) is None:
                message = self.error_messages["invalid_pk_value"]
                raise ValidationError(message, code="invalid_pk_value", params={"pk": pk})
        return super()._check_values(value)


# For a ModelAdmin whose model's CharFields are all names or single-line labels (no EmailField or
# URLField, which are CharFields too): `formfield_overrides = NAME_FORMFIELDS`.
NAME_FORMFIELDS = {models.CharField: {"form_class": NameField}}
