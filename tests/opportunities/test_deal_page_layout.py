"""The deal page in the order reps work it: next step, then move or close, then the activity
form, then the milestones with only the current stage open; a "Jump to" list; no empty next-step
card on a closed deal. And the history's "pushed later once"."""

import re

import pytest
from django.urls import reverse

from opportunities import services
from opportunities.models import EventVerb, LostReason, OpportunityEvent


def page_of(client, opp) -> str:
    return client.get(reverse("opportunities:detail", args=[opp.pk])).content.decode()


def test_what_reps_do_most_comes_first(client_for, owner, opportunity):
    body = page_of(client_for(owner), opportunity)

    order = [
        body.index(marker) for marker in ('id="next-step"', 'id="activities"', 'id="stage-actions"', 'id="milestones"')
    ]
    assert order == sorted(order)
    jump = body[body.index('<nav class="jump-to" aria-label="Jump to">') :]
    jump = jump[: jump.index("</nav>")]
    assert re.findall(r'href="#([a-z-]+)"', jump) == [
        "next-step",
        "activities",
        "stage-actions",
        "milestones",
        "buying-team",
        "history",
    ]
    assert 'id="next-step" aria-labelledby="next-step-h" data-focus-first' in body


def test_only_the_current_stage_is_open_and_the_others_summarise(client_for, owner, opportunity, process):
    qualify, discover, propose = process.stages.order_by("order")
    for milestone in qualify.milestones.filter(is_required=True):
        services.milestone_tick(opportunity, actor=owner, milestone=milestone)
    services.milestone_tick(opportunity, actor=owner, milestone=propose.milestones.first())
    services.opportunity_move(opportunity, actor=owner, to_stage=discover)

    body = page_of(client_for(owner), opportunity)

    assert '<legend>Discover <small class="muted">(current stage)</small></legend>' in body
    assert re.search(
        r'<details class="checklist stage-done">\s*<summary><span class="stage-label">Qualify</span>\s*'
        r'<small class="muted">done · 2 of 3 ticked</small>',
        body,
    )
    assert re.search(
        r'<details class="checklist stage-ahead">\s*<summary><span class="stage-label">Propose</span>\s*'
        r'<small class="muted">later stage · 1 of 3 ticked</small>',
        body,
    )
    # Early ticks stay possible: the later stage's milestones have their buttons.
    assert 'aria-label="Tick Check 2"' in body.split('<span class="stage-label">Propose</span>')[1]


def test_a_closed_deal_shows_no_empty_next_step_card(client_for, owner, opportunity):
    reason = LostReason.objects.create(name="Budget gone")
    services.opportunity_close_lost(opportunity, actor=owner, reason=reason)

    body = page_of(client_for(owner), opportunity)

    assert 'id="next-step"' not in body and "No next step committed." not in body
    assert 'href="#next-step"' not in body


def test_disclosures_are_buttons(client_for, owner, opportunity):
    body = page_of(client_for(owner), opportunity)

    assert re.search(
        r'<button type="button" class="disclosure-toggle" aria-expanded="true" '
        r'aria-controls="next-step-set">Commit a next step</button>',
        body,
    )
    assert "<summary>Add someone</summary>" not in body and ">Add someone</button>" in body


@pytest.mark.parametrize(("count", "words"), [(1, "once"), (2, "twice"), (3, "3 times")])
def test_the_history_says_how_often_a_close_date_was_pushed(opportunity, count, words):
    event = OpportunityEvent(
        opportunity=opportunity,
        verb=EventVerb.CLOSE_DATE_CHANGED,
        data={"old": "2026-03-01", "new": "2026-04-01", "pushed_later": True, "push_count": count},
    )
    assert event.describe() == f"Close date changed from 2026-03-01 to 2026-04-01 (pushed later {words})"


def test_my_deals_filter_errors_come_with_the_rows_over_htmx(client_for, owner, opportunity):
    response = client_for(owner).get(
        reverse("opportunities:my_deals"), {"close_month": "2026-13"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert '<div class="form-errors" role="alert"><p>Close month: Close month must look like 2026-03.</p></div>' in body
    assert "No deals" in body


def test_the_bell_is_an_inline_svg_not_an_emoji(client_for, owner):
    body = client_for(owner).get(reverse("opportunities:my_deals")).content.decode()
    bell = body[body.index('id="bell"') : body.index("</a>", body.index('id="bell"'))]
    assert '<svg class="icon" aria-hidden="true"' in bell and "&#128276;" not in bell and "\U0001f514" not in bell
    assert '<span class="sr-only">Notifications</span>' in bell
