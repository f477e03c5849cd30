"""One small organisation for the everyday-use browser tests (layout, focus, accessibility): a
manager and a rep, a process of three stages with milestones, a deal with a long unbroken name
and no next step (flagged), a second deal with a next step, and lost reasons."""

import datetime as dt

from django.utils import timezone

from opportunities import services
from opportunities.models import LostReason
from people.models import Role
from pipeline.models import Flag, FlagKind
from tests.browser.signing_in import PASSWORD
from tests.factories import (
    AccountFactory,
    ContactFactory,
    MilestoneFactory,
    SalesProcessFactory,
    StageFactory,
    TeamFactory,
    UserFactory,
)

LONG_NAME = "Supercalifragilistic" * 10  # 200 characters and not one space


def build_world() -> dict:
    team = TeamFactory(name="North")
    manager = UserFactory(
        username="mia", first_name="Mia", last_name="Manager", role=Role.MANAGER, manages=[team], password=PASSWORD
    )
    rep = UserFactory(username="rita", first_name="Rita", last_name="Rep", team=team, password=PASSWORD)
    process = SalesProcessFactory(name="New business")
    qualify = StageFactory(process=process, name="Qualify", order=10, win_probability=10)
    discover = StageFactory(process=process, name="Discover", order=20, win_probability=30)
    propose = StageFactory(process=process, name="Propose", order=30, win_probability=60)
    for stage in (qualify, discover, propose):
        MilestoneFactory(stage=stage, name=f"{stage.name} check", is_required=True, order=1)
        MilestoneFactory(stage=stage, name=f"{stage.name} extra", is_required=False, order=2)
    for name in ("Price", "Timing"):
        LostReason.objects.update_or_create(name=name, defaults={"is_active": True})
    account = AccountFactory(owner=rep, name=LONG_NAME)
    ContactFactory(account=account, first_name="Ann", last_name="Archer")
    today = timezone.localdate()
    long_deal = services.opportunity_create(
        actor=rep,
        account=account,
        process=process,
        name=LONG_NAME,
        amount="120000",
        expected_close_date=today + dt.timedelta(days=20),
    )
    Flag.objects.create(opportunity=long_deal, kind=FlagKind.NO_NEXT_STEP, detail="no next step")
    planned = services.opportunity_create(
        actor=rep,
        account=AccountFactory(owner=rep, name="Globex"),
        process=process,
        name="Globex rollout",
        amount="30000",
        expected_close_date=today + dt.timedelta(days=40),
    )
    services.next_step_set(
        planned, actor=rep, description="Send the proposal", due_date=today + dt.timedelta(days=3), waiting_until=None
    )
    return {"manager": manager, "rep": rep, "process": process, "long_deal": long_deal, "planned": planned}


def main_pages(world: dict) -> list[str]:
    """Every main page a signed-in user works in."""
    long_deal = world["long_deal"]
    return [
        "/deals/",
        "/deals/?scope=all",
        f"/deals/{long_deal.pk}/",
        f"/deals/{world['planned'].pk}/",
        "/board/",
        "/dashboard/",
        "/attention/",
        "/changes/",
        "/accounts/",
        f"/accounts/{long_deal.account_id}/",
        "/notifications/",
        "/profile/",
    ]
