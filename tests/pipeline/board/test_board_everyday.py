"""The board's everyday use: which process /board/ opens on (the user's last choice, else the
one with the most open deals they may see), a quarter placeholder that matches today, and a card
that says "No next step" once."""

import pytest
from django.urls import reverse

from pipeline.models import Flag, FlagKind
from tests.factories import make_process
from tests.pipeline.board.test_board import make_deal, text


@pytest.fixture
def busy_process(db):
    # Named to sort after "New business": opening on it is not alphabetical luck.
    return make_process(stages=2, milestones=1, name="Renewals")


def test_the_board_opens_on_the_process_with_the_most_open_deals(client_for, owner, process, busy_process, now):
    make_deal(owner, process, 100, now=now)
    for amount in (200, 300):
        make_deal(owner, busy_process, amount, now=now)

    response = client_for(owner).get(reverse("board:index"))

    assert response.status_code == 200
    assert response.context["process"] == busy_process


def test_the_board_reopens_on_the_users_last_choice(client_for, owner, process, busy_process, now):
    for amount in (200, 300):
        make_deal(owner, busy_process, amount, now=now)
    client = client_for(owner)

    assert client.get(reverse("board:process", args=[process.pk])).status_code == 200
    response = client.get(reverse("board:index"))

    assert response.context["process"] == process


def test_a_deleted_last_choice_falls_back_to_the_busiest_process(client_for, owner, process, busy_process, now):
    make_deal(owner, busy_process, 200, now=now)
    client = client_for(owner)
    client.get(reverse("board:process", args=[process.pk]))
    process.delete()

    assert client.get(reverse("board:index")).context["process"] == busy_process


def test_the_quarter_placeholder_is_this_quarter(client_for, owner, process, now):
    body = text(client_for(owner).get(reverse("board:process", args=[process.pk])))

    quarter = (now.month - 1) // 3 + 1
    assert f'placeholder="{now.year}-Q{quarter}"' in body


def test_a_card_without_a_next_step_says_so_once(client_for, owner, process, now):
    opp = make_deal(owner, process, 100, name="Lonely deal", now=now)
    Flag.objects.create(opportunity=opp, kind=FlagKind.NO_NEXT_STEP, detail="no next step")
    Flag.objects.create(opportunity=opp, kind=FlagKind.IDLE, detail="idle 30 days")

    body = text(client_for(owner).get(reverse("board:process", args=[process.pk])))

    card = body[body.index('id="card-') : body.index("</li>", body.index('id="card-'))]
    assert card.count("No next step") == 1
    assert "Idle" in card
