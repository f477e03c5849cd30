"""The shared input helpers of `stages.cleaning`: ids that fit a query, names without invisible characters."""

import pytest
from django import forms
from django.contrib import admin as django_admin

from opportunities.models import LostReason
from people.models import Team
from stages.cleaning import INT_MAX, IdField, NameField, clean_text, parse_int, parse_pk
from stages.models import Milestone, SalesProcess, Stage


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


# --- names: invisible characters --------------------------------------------------------------------

INVISIBLE = {
    "bidi embedding and override U+202A–U+202E": "\u202a\u202b\u202c\u202d\u202e",
    "bidi isolates U+2066–U+2069": "\u2066\u2067\u2068\u2069",
    "zero-width space, joiners and marks U+200B–U+200F": "\u200b\u200c\u200d\u200e\u200f",
    "byte-order mark U+FEFF": "\ufeff",
    "word joiner U+2060": "\u2060",
    "other format characters (soft hyphen, Arabic number sign, tag letter)": "\u00ad\u0600\U000e0041",
    "control characters": "\x00\x07\x1b\t\n\r\x7f\x85",
}


@pytest.mark.parametrize("chars", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_clean_text_drops_each_kind_of_invisible_character(chars):
    assert clean_text(f"{chars}Acme{chars} Corp{chars}") == "Acme Corp"
    for ch in chars:
        assert clean_text(f"Ac{ch}me") == "Acme"


@pytest.mark.parametrize("text", ["Zoë Ünal", "東京支社", "مرحبا بالعالم", "שלום", "Straße № 5 — “quoted” 🚀", "a  b"])
def test_clean_text_keeps_visible_text_of_any_script(text):
    assert clean_text(text) == text


def test_clean_text_strips_space_the_invisible_characters_hid():
    assert clean_text("\u200b  Acme \ufeff") == "Acme"
    assert clean_text("\u202e\u200b\u2066") == ""


class _NameForm(forms.Form):
    name = NameField(max_length=5)


@pytest.mark.parametrize("chars", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_name_field_cleans_before_it_checks_required_and_length(chars):
    form = _NameForm({"name": f"{chars}Acme{chars}"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["name"] == "Acme"
    assert _NameForm({"name": f"{chars}Acme{chars}Corp"}).errors == {
        "name": ["Ensure this value has at most 5 characters (it has 8)."]
    }
    assert _NameForm({"name": chars + " "}).errors == {"name": ["This field is required."]}


def _admin_form(model, data: dict, admin_user, rf):
    request = rf.post("/")
    request.user = admin_user
    return django_admin.site._registry[model].get_form(request)(data)


@pytest.mark.parametrize("chars", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_admin_forms_clean_team_process_stage_milestone_and_lost_reason_names(chars, admin, rf):
    dirty = f"{chars}New{chars} business{chars}"
    form = _admin_form(SalesProcess, {"name": dirty, "description": "", "is_active": "on"}, admin, rf)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["name"] == "New business"
    form = _admin_form(Team, {"name": dirty}, admin, rf)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["name"] == "New business"
    form = _admin_form(LostReason, {"name": dirty, "order": "0", "is_active": "on"}, admin, rf)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["name"] == "New business"
    process = SalesProcess.objects.create(name="P")
    stage_form = _admin_form(
        Stage,
        {
            "process": process.pk,
            "name": dirty,
            "order": "0",
            "objective": f"Agree{chars}",
            "win_probability": "10",
            "forecast_category": "pipeline",
            "stuck_after_days": "30",
            "idle_after_days": "14",
            "slip_push_limit": "2",
            "buying_team_touch_days": "21",
        },
        admin,
        rf,
    )
    assert stage_form.is_valid(), stage_form.errors
    assert (stage_form.cleaned_data["name"], stage_form.cleaned_data["objective"]) == ("New business", "Agree")
    stage_admin = django_admin.site._registry[Stage]
    request = rf.get("/")
    request.user = admin
    milestone_inline = next(i for i in stage_admin.get_inline_instances(request) if i.model is Milestone)
    field = milestone_inline.get_formset(request).form.base_fields["name"]
    assert field.clean(dirty) == "New business"
