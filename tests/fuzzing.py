"""Shared pieces of the property-based tests (`tests/test_fuzz_forms.py`,
`tests/opportunities/test_api_fuzz.py`): the values thrown at every input, the world they are
thrown at, and the snapshot that proves a refused request changed nothing.

Values name the world's rows with placeholders ("@deal", "@contact"…) that the tests resolve,
so that some submissions are valid and reach the services, not only the forms.
"""

import os
import unicodedata

import pytest
from django.apps import apps
from django.contrib.messages import constants as message_levels
from django.contrib.messages import get_messages
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from aids import services as aid_services
from opportunities import services
from opportunities.models import Account, Activity, Competitor, Contact, NextStep, Opportunity
from people.models import OrgSettings, Role
from roi import services as roi_services
from stages.models import Milestone, SalesProcess, Stage
from tests.factories import ContactFactory, LostReasonFactory, OpportunityFactory, UserFactory
from tests.postmortem.world import accepted_review, draft_review
from tests.roi.world import calculator_for

# Derandomized, so CI runs the same examples every time, and few, so that both modules take
# well under a minute on one backend; each form and operation also runs a few fixed edge
# examples first. FUZZ_EXAMPLES=200 digs deeper, by hand. `deadline=None`: a request's time
# varies with the machine's load, which says nothing about correctness. The fixtures build one
# world per test; each example runs in a savepoint rolled back afterwards, so examples do not
# share state.
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "4")),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

HUGE = 10**30
BIGINT = 2**63

# Numbers at and beyond every edge: the database's integers, floats that are not numbers.
EDGE_NUMBERS = [
    "0",
    "-1",
    "1",
    str(BIGINT - 1),
    str(BIGINT),
    str(HUGE),
    str(-HUGE),
    "9" * 400,
    "1e999",
    "-1e999",
    "1e-999",
    "nan",
    "NaN",
    "inf",
    "-Infinity",
    "1.5",
    "0x10",
    "١٢٣",
    "1_000",
    " 7 ",
]
EDGE_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\u202eevil\u202c",
    "\u2066\u2069",
    "\u200b",
    "\ufeff\u2060",
    "\r\nSet-Cookie: x=1",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "%s%n{0}",
    "true",
    "null",
    "[]",
    "{}",
    "9999-12-31",
    "0001-01-01",
    "2026-02-30",
    "2026-13-01",
    "2026-W10",
    "2026-Q5",
    "x" * 5000,
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🚀" * 50,
]
DATES = ["2026-03-02", "2026-03-03", "2026-04-01", "2027-01-01", "2025-12-31", "2000-01-01", "1999-12-31"]
REFS = ["@deal", "@other_deal", "@account", "@other_account", "@contact", "@stage", "@next_stage", "@process"]
REFS += ["@milestone", "@reason", "@me", "@teammate", "@outsider", "@team"]

edge_numbers = st.sampled_from(EDGE_NUMBERS)
integers_as_text = st.integers(min_value=-(10**40), max_value=10**40).map(str)
floats_as_text = st.floats(allow_nan=True, allow_infinity=True).map(repr)
# Any Unicode except lone surrogates (which UTF-8 cannot carry in a form), with control, format
# and bidi characters included on purpose.
any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)
long_text = st.integers(min_value=100, max_value=12_000).map(lambda n: ("Ab\u202e " * n)[:n])
refs = st.sampled_from(REFS)
dates = st.sampled_from(DATES)

form_value = st.one_of(
    refs, dates, edge_numbers, st.sampled_from(EDGE_TEXT), integers_as_text, floats_as_text, any_text, long_text
)


def field_values(choices=()) -> st.SearchStrategy:
    """What one form field receives: nasty values, the field's own valid choices, and now and
    then several values at once (as a repeated form field)."""
    one = st.one_of(st.sampled_from(list(choices)), form_value) if choices else form_value
    return st.one_of(one, st.lists(one, min_size=2, max_size=3))


# Before the generated examples, each form and operation gets these: every field at once holding
# a number no id can be, infinity, invisible and control characters, and several bad values.
EDGE_FORM_VALUES = [str(HUGE), "1e999", "\u202e\u200bx\x00", ["-1", str(BIGINT)]]


def edge_form_data(names) -> list[dict]:
    return [dict.fromkeys(names, value) for value in EDGE_FORM_VALUES] if names else []


def form_data(names, choices: dict | None = None) -> st.SearchStrategy:
    """A form's data: any subset of its fields (missing ones left out), each with a value."""
    choices = choices or {}
    return st.fixed_dictionaries({}, optional={name: field_values(choices.get(name, ())) for name in names})


# --- the world ---------------------------------------------------------------------------------------


@pytest.fixture
def world(owner, teammate, outsider, team, account, contact, process, opportunity, now) -> dict:
    """The fuzz tests' fixture (every test may use it: `tests/conftest.py` registers this module):
    the rows the fuzzed requests name, as placeholders to ids. A rep (`owner`) with a deal that has
    a next step and a ticked milestone, an account with two contacts; a teammate's deal the rep
    may read; an outsider's deal the rep may not see."""
    services.next_step_set(opportunity, actor=owner, description="Call back", due_date=now.date(), now=now)
    stages = list(process.stages.order_by("order"))
    milestone = stages[0].milestones.order_by("order").first()
    services.milestone_tick(opportunity, actor=owner, milestone=milestone, now=now)
    other_deal = OpportunityFactory(owner=outsider)
    OpportunityFactory(owner=teammate, stage=stages[1], process=process)
    ContactFactory(account=account, first_name="Second")
    UserFactory(username="inactive", is_active=False, team=team)
    reason = LostReasonFactory(name="Price")
    competitor = Competitor.objects.create(name="Rival Inc")
    review = accepted_review(owner=owner, account=account, process=process, now=now)
    draft = draft_review(owner=owner, account=account, process=process, name="Second closed deal", now=now)
    curator = UserFactory(username="curator", role=Role.MANAGER, manages=[team])
    aid = aid_services.aid_create(
        actor=curator, title="Battle card", kind="battle_card", source="text", body="Win", publish=True
    )
    own_aid = aid_services.aid_create(actor=owner, title="My idea", kind="checklist", source="text", body="Ask")
    calculator_for(process)
    roi_result = roi_services.result_save(actor=owner, opportunity=opportunity, values={}, now=now)
    OrgSettings.current()  # created on first read otherwise, which would look like a change
    return {
        "@aid": aid.pk,
        "@own_aid": own_aid.pk,
        "@deal": opportunity.pk,
        "@other_deal": other_deal.pk,
        "@account": account.pk,
        "@other_account": other_deal.account_id,
        "@contact": contact.pk,
        "@stage": stages[0].pk,
        "@next_stage": stages[1].pk,
        "@process": process.pk,
        "@milestone": milestone.pk,
        "@reason": reason.pk,
        "@competitor": competitor.pk,
        "@review": review.pk,
        "@draft_review": draft.pk,
        "@lesson": review.lessons.get().pk,
        "@me": owner.pk,
        "@teammate": teammate.pk,
        "@outsider": outsider.pk,
        "@team": team.pk,
        "@roi_result": roi_result.pk,
    }


def resolve(value, world: dict):
    """`value` with the world's placeholders replaced by ids, at any depth."""
    if isinstance(value, str):
        return str(world[value]) if value in world else value
    if isinstance(value, list):
        return [resolve(v, world) for v in value]
    if isinstance(value, dict):
        return {k: resolve(v, world) for k, v in value.items()}
    return value


# --- what a request may and may not do -----------------------------------------------------------------

# Every table of the project's apps is compared row by row: small in these tests, and nothing is
# left out by accident when an app adds a model.
PROJECT_APPS = ("stages", "opportunities", "pipeline", "postmortem")


def snapshot() -> dict:
    tables = {}
    for model in apps.get_models(include_auto_created=True):
        if model._meta.app_label in PROJECT_APPS and model._meta.model_name != "loginfailure":
            tables[model._meta.label] = list(model.objects.order_by("pk").values_list())
    return tables


def changed_tables(before: dict, after: dict) -> list[str]:
    return [label for label in before if before[label] != after.get(label)]


def refused(response) -> bool:
    """A 4xx, or a page or redirect that carries an error message."""
    if response.status_code >= 400:
        return True
    return any(m.level >= message_levels.ERROR for m in get_messages(response.wsgi_request))


_NAMES = [
    (Account, ("name", "industry", "region")),
    (Contact, ("first_name", "last_name", "title")),
    (Opportunity, ("name",)),
    (Activity, ("subject",)),
    (NextStep, ("description",)),
    (SalesProcess, ("name",)),
    (Stage, ("name", "objective")),
    (Milestone, ("name",)),
]


def invisible_in_names() -> list[str]:
    """Names and titles holding an invisible format or control character (there must be none)."""
    found = []
    for model, fields in _NAMES:
        for row in model.objects.values_list("pk", *fields):
            for name, value in zip(fields, row[1:], strict=True):
                if any(unicodedata.category(ch) in ("Cf", "Cc") for ch in value):
                    found.append(f"{model.__name__} {row[0]} {name}={value!r}")
    return found


def check_request(send, *, writes: bool):
    """Send a request in a savepoint that is rolled back afterwards, and check the properties:
    no 5xx (the test client re-raises a view's exception, which fails the test too); a refused
    request, or any read, changes nothing; no name takes an invisible character."""
    with transaction.atomic():
        before = snapshot()
        response = send()
        assert response.status_code < 500, response.content[:500]
        after = snapshot()
        if not writes or refused(response):
            changed = changed_tables(before, after)
            assert changed == [], (response.status_code, [(before[t], after[t]) for t in changed])
        if writes:
            assert invisible_in_names() == []
        transaction.set_rollback(True)
    return response
