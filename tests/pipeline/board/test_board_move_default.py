"""A card's Move menu preselects the next stage, as the deal page does: pressing Move must not
send the deal back to the first stage."""

import re

from django.urls import reverse

from opportunities import services
from tests.factories import AccountFactory


def selected_option(body: str, opp_pk: int) -> str | None:
    select = re.search(rf'<select name="to_stage" id="move-{opp_pk}">(.*?)</select>', body, re.S).group(1)
    chosen = re.findall(r'<option value="\d+" selected>([^<]*)</option>', select)
    assert len(chosen) <= 1
    return chosen[0] if chosen else None


def test_the_move_menu_defaults_to_the_next_stage(client_for, owner, process, now):
    stages = list(process.stages.order_by("order", "id"))
    deals = []
    for i, stage in enumerate(stages):
        opp = services.opportunity_create(
            actor=owner,
            account=AccountFactory(owner=owner),
            process=process,
            name=f"Deal {i}",
            amount=100,
            expected_close_date=now.date(),
            now=now,
        )
        for earlier in stages[:i]:
            for milestone in earlier.milestones.filter(is_required=True):
                services.milestone_tick(opp, actor=owner, milestone=milestone, now=now)
        if i:
            services.opportunity_move(opp, actor=owner, to_stage=stage, now=now)
        deals.append(opp)
    body = client_for(owner).get(reverse("board:process", args=[process.pk])).content.decode()
    assert selected_option(body, deals[0].pk) == "Discover"
    assert selected_option(body, deals[1].pk) == "Propose"
    # From the last stage there is no next one: the nearest, never the first.
    assert selected_option(body, deals[2].pk) == "Discover"
