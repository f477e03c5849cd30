"""Concurrent edits of one deal: the first save wins, the second is refused with 409 and shown
what changed meanwhile, keeps its input, and can then be saved deliberately."""

import re
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse
from django.utils.html import escape

from opportunities import services
from opportunities.errors import ConcurrentEdit
from opportunities.models import EventVerb, Opportunity, OpportunityEvent

CONFLICT = "Someone else changed this opportunity while you were editing; nothing was saved."


def hidden_version(html: str) -> int:
    return int(re.search(r'<input type="hidden" name="version" value="(\d+)"', html).group(1))


def input_value(html: str, name: str) -> str:
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', html).group(0)
    return re.search(r'value="([^"]*)"', tag).group(1)


def form_of(opp: Opportunity, version: int, **changes) -> dict:
    data = {
        "version": version,
        "name": opp.name,
        "amount": str(opp.amount),
        "expected_close_date": opp.expected_close_date.isoformat(),
        "owner": opp.owner_id,
    }
    data.update(changes)
    return data


@pytest.fixture(params=["same owner in two sessions", "owner and manager"])
def two_editors(request, client_for, owner, manager):
    second = owner if request.param == "same owner in two sessions" else manager
    return client_for(owner), client_for(second), second


def test_first_save_wins_the_second_gets_409_with_the_changes_and_its_input(two_editors, owner, opportunity, today):
    first, second, second_user = two_editors
    url = reverse("opportunities:edit", args=[opportunity.pk])
    loaded = hidden_version(first.get(url).content.decode())
    assert hidden_version(second.get(url).content.decode()) == loaded == opportunity.version

    # The first editor renames the deal.
    response = first.post(url, form_of(opportunity, loaded, name="Acme rollout EMEA"))
    assert response.status_code == 302
    won = Opportunity.objects.get(pk=opportunity.pk)
    assert (won.name, won.version) == ("Acme rollout EMEA", loaded + 1)

    # The second, from the same stale form, changes the amount and the close date.
    later = today.replace(day=28).isoformat()
    mine = form_of(opportunity, loaded, amount="75000", expected_close_date=later)
    response = second.post(url, mine)

    assert response.status_code == 409
    body = response.content.decode()
    assert escape(CONFLICT) in body
    assert 'role="alert"' in body
    # what changed meanwhile, and what is stored now
    assert escape("Olivia Owner: Edited name: Acme rollout → Acme rollout EMEA") in body
    assert "Now stored: Acme rollout EMEA" in body
    # the second editor's input is still in the form ...
    assert input_value(body, "amount") == "75000"
    assert input_value(body, "expected_close_date") == later
    assert input_value(body, "name") == "Acme rollout"
    # ... and its version is the current one, so saving again is a deliberate overwrite
    assert hidden_version(body) == won.version
    # nothing of it was saved
    stored = Opportunity.objects.get(pk=opportunity.pk)
    assert (stored.name, stored.amount, stored.version) == ("Acme rollout EMEA", Decimal("50000.00"), won.version)
    assert not OpportunityEvent.objects.filter(opportunity=opportunity, verb=EventVerb.AMOUNT_CHANGED).exists()

    # Saving again, having seen the changes, applies exactly what the form holds.
    response = second.post(url, mine | {"version": hidden_version(body)})
    assert response.status_code == 302
    stored = Opportunity.objects.get(pk=opportunity.pk)
    assert (stored.name, stored.amount, stored.expected_close_date.isoformat()) == (
        "Acme rollout",
        Decimal("75000.00"),
        later,
    )
    assert stored.version > won.version
    assert set(
        OpportunityEvent.objects.filter(opportunity=opportunity, version__gt=won.version).values_list(
            "actor", flat=True
        )
    ) == {second_user.pk}


def test_a_stage_move_meanwhile_also_makes_the_edit_conflict(client_for, owner, manager, opportunity, process):
    editor = client_for(owner)
    url = reverse("opportunities:edit", args=[opportunity.pk])
    loaded = hidden_version(editor.get(url).content.decode())
    discover = process.stages.order_by("order")[1]
    response = client_for(manager).post(
        reverse("opportunities:move", args=[opportunity.pk]), {"to_stage": discover.pk, "override_reason": "LOI"}
    )
    assert response.status_code == 302

    response = editor.post(url, form_of(opportunity, loaded, amount="1"))

    assert response.status_code == 409
    body = response.content.decode()
    assert "Maya Manager: Moved from Qualify to Discover" in body
    assert "Maya Manager: Override of missing milestones" in body
    assert Opportunity.objects.get(pk=opportunity.pk).amount == Decimal("50000.00")


def test_a_conflicting_save_that_is_also_invalid_reports_the_input_error(client_for, owner, opportunity):
    url = reverse("opportunities:edit", args=[opportunity.pk])
    a, b = client_for(owner), client_for(owner)
    loaded = hidden_version(a.get(url).content.decode())
    a.post(url, form_of(opportunity, loaded, name="Renamed"))
    response = b.post(url, form_of(opportunity, loaded, amount="-3"))
    # Shape errors are reported first; the conflict is found on the next, valid, save.
    assert response.status_code == 400
    assert "Ensure this value is greater than or equal to 0." in response.content.decode()
    assert Opportunity.objects.get(pk=opportunity.pk).amount == Decimal("50000.00")


def test_a_refused_conflict_does_not_bump_the_version(client_for, owner, opportunity):
    url = reverse("opportunities:edit", args=[opportunity.pk])
    a, b = client_for(owner), client_for(owner)
    loaded = hidden_version(a.get(url).content.decode())
    a.post(url, form_of(opportunity, loaded, name="Renamed"))
    events = OpportunityEvent.objects.count()
    for _ in range(3):
        assert b.post(url, form_of(opportunity, loaded, amount="1")).status_code == 409
    assert Opportunity.objects.get(pk=opportunity.pk).version == loaded + 1
    assert OpportunityEvent.objects.count() == events


# --- the service under real concurrency --------------------------------------------------------------------------


def _race(opp: Opportunity, *, actor, version: int, amounts: list[str]) -> list[tuple[str, str]]:
    """Call opportunity_update once per amount, all with the same expected version.

    On PostgreSQL the calls run in threads released together by a barrier, each with its own
    connection, so the row lock is what serialises them. SQLite has no row locks and its
    in-memory test database does not take concurrent writers well, so there the calls run one
    after the other: the same rule (the version check under the lock) is exercised either way.
    """
    results: list[tuple[str, str]] = []

    def attempt(amount: str) -> None:
        try:
            services.opportunity_update(
                Opportunity.objects.get(pk=opp.pk), actor=actor, expected_version=version, amount=amount
            )
            results.append(("saved", amount))
        except ConcurrentEdit:
            results.append(("conflict", amount))

    if connection.vendor != "postgresql":
        for amount in amounts:
            attempt(amount)
        return results

    barrier = threading.Barrier(len(amounts))
    errors: list[BaseException] = []

    def run(amount: str) -> None:
        try:
            barrier.wait(timeout=10)
            attempt(amount)
        except BaseException as exc:  # surfaced in the main thread below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(amount,)) for amount in amounts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck on the row lock"
    assert errors == []
    return results


@pytest.mark.django_db(transaction=True)
def test_simultaneous_updates_with_the_same_version_exactly_one_wins(owner, manager, opportunity):
    version = opportunity.version

    results = _race(opportunity, actor=owner, version=version, amounts=["60000", "70000", "80000"])

    saved = [amount for outcome, amount in results if outcome == "saved"]
    assert len(results) == 3
    assert len(saved) == 1, results
    stored = Opportunity.objects.get(pk=opportunity.pk)
    assert stored.amount == Decimal(saved[0])
    assert stored.version == version + 1
    changes = OpportunityEvent.objects.filter(opportunity=opportunity, verb=EventVerb.AMOUNT_CHANGED)
    assert [event.data["new"] for event in changes] == [f"{saved[0]}.00"]
