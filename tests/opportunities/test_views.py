"""HTML views of the opportunities app.

Every URL gets the healthchecks quintet (it works; a teammate reads and a manager writes; an
outsider gets 404; the read-only viewer gets 403 on writes and nothing changes; the wrong
method gets 405), anonymous requests are sent to the login page, and then the behaviour only
a request shows: filters, sorting and paging, htmx partials, refusal messages, bad input,
escaping of user strings and labelled form controls.
"""

import datetime as dt
import re
from decimal import Decimal
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils.html import escape

from opportunities import services
from opportunities.models import (
    Account,
    Activity,
    BuyingTeamMember,
    Contact,
    EventVerb,
    MilestoneCompletion,
    NextStep,
    Opportunity,
    OpportunityEvent,
    OpportunityStatus,
)
from opportunities.views import CONTACT_PICK_LIMIT, LATEST_SHOWN
from people.models import OrgSettings, Visibility
from stages.models import Milestone
from tests.factories import (
    AccountFactory,
    ActivityFactory,
    ContactFactory,
    NextStepFactory,
    OpportunityFactory,
    UserFactory,
    make_process,
)

HTMX = {"HTTP_HX_REQUEST": "true"}
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)
XSS = "<script>alert(1)</script>"


# --- helpers ------------------------------------------------------------------------------------------------


def text(response) -> str:
    return response.content.decode()


def assert_partial(response) -> None:
    body = text(response).lower()
    assert "<html" not in body and "<body" not in body, "an htmx request must get the partial, not the page"


def fresh(opp: Opportunity) -> Opportunity:
    return Opportunity.objects.get(pk=opp.pk)


def verbs_after(opp: Opportunity, event_id: int) -> list[str]:
    return list(
        OpportunityEvent.objects.filter(opportunity=opp, pk__gt=event_id).order_by("id").values_list("verb", flat=True)
    )


def last_event_id() -> int:
    return OpportunityEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def state(opp: Opportunity) -> dict:
    """Everything a write on the deal page could change, to prove that nothing did."""
    row = Opportunity.objects.filter(pk=opp.pk).values().get()
    return {
        "row": row,
        "events": OpportunityEvent.objects.filter(opportunity_id=opp.pk).count(),
        "steps": list(NextStep.objects.filter(opportunity_id=opp.pk).values_list("id", "completed_at")),
        "activities": Activity.objects.count(),
        "team": list(BuyingTeamMember.objects.filter(opportunity_id=opp.pk).values_list("contact_id", "roles")),
        "ticks": MilestoneCompletion.objects.filter(opportunity_id=opp.pk).count(),
        "contacts": list(Contact.objects.values_list("id", "first_name", "last_name", "email")),
        "accounts": list(Account.objects.values_list("id", "name", "status", "industry")),
    }


def deal_names(response) -> list[str]:
    """Deal names in list order, from the links in the deal table."""
    return re.findall(r'<td><a href="/deals/\d+/">([^<]*)</a>', text(response))


class _Controls(HTMLParser):
    """Collects form controls, labels and ids of a page."""

    SKIP_TYPES = {"hidden", "submit", "button", "reset", "image"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.controls: list[tuple[str, dict, bool]] = []
        self.label_for: set[str] = set()
        self.ids: list[str] = []
        self.open_labels = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.append(attrs["id"])
        if tag == "label":
            self.open_labels += 1
            if "for" in attrs:
                self.label_for.add(attrs["for"] or "")
        elif tag in ("input", "select", "textarea"):
            if tag == "input" and (attrs.get("type") or "text").lower() in self.SKIP_TYPES:
                return
            self.controls.append((tag, attrs, self.open_labels > 0))

    def handle_endtag(self, tag):
        if tag == "label" and self.open_labels:
            self.open_labels -= 1


def assert_every_control_labelled(html: str) -> int:
    """Every visible control has a <label for=id>, an aria-label/-labelledby, or sits inside
    its <label> (implicit labelling, which assistive technology treats the same); ids are
    unique; no label points at an id that does not exist (or at for=""). Returns the number of
    controls."""
    parser = _Controls()
    parser.feed(html)
    unlabelled = [
        (tag, attrs)
        for tag, attrs, wrapped in parser.controls
        if not (
            wrapped
            or attrs.get("aria-label")
            or attrs.get("aria-labelledby")
            or (attrs.get("id") and attrs["id"] in parser.label_for)
        )
    ]
    assert unlabelled == [], f"controls without a label: {unlabelled}"
    duplicates = sorted({i for i in parser.ids if parser.ids.count(i) > 1})
    assert duplicates == [], f"duplicate ids: {duplicates}"
    dangling = sorted(parser.label_for - set(parser.ids))
    assert dangling == [], f"labels for missing (or empty) ids: {dangling}"
    return len(parser.controls)


# --- local fixtures -------------------------------------------------------------------------------------------


@pytest.fixture
def world(owner, account, process, opportunity, contact, lost_reason, now):
    """The deal with every required milestone ticked, an open next step and one contact on
    the buying team, so that every write endpoint has something valid to do."""
    stages = list(process.stages.order_by("order", "id"))
    for milestone in Milestone.objects.filter(stage__process=process, is_required=True):
        services.milestone_tick(opportunity, actor=owner, milestone=milestone, now=now)
    services.next_step_set(
        opportunity, actor=owner, description="Send proposal", due_date=now.date() + 7 * DAY, now=now
    )
    services.buying_team_add(opportunity, actor=owner, contact=contact, roles=["champion"], now=now)
    second = ContactFactory(account=account, first_name="Sam", last_name="Second")
    optional = Milestone.objects.get(stage=stages[0], is_required=False)
    return SimpleNamespace(
        opp=fresh(opportunity),
        stages=stages,
        optional=optional,
        contact=contact,
        second=second,
        reason=lost_reason,
        account=account,
        today=now.date(),
    )


@pytest.fixture
def other_process(db):
    return make_process(stages=2, milestones=1, name="Renewal")


# --- the endpoints ------------------------------------------------------------------------------------------

# name -> (what the URL hangs on, the methods the view allows)
ENDPOINTS = {
    "my_deals": (None, {"GET"}),
    "create": (None, {"GET", "POST"}),
    "detail": ("deal", {"GET"}),
    "history": ("deal", {"GET"}),
    "activities": ("deal", {"GET"}),
    "edit": ("deal", {"GET", "POST"}),
    "move": ("deal", {"POST"}),
    "close_won": ("deal", {"POST"}),
    "close_lost": ("deal", {"POST"}),
    "reopen": ("deal", {"POST"}),
    "milestone_toggle": ("milestone", {"POST"}),
    "next_step_set": ("deal", {"POST"}),
    "next_step_complete": ("deal", {"GET", "POST"}),
    "activity_log": ("deal", {"POST"}),
    "buying_team_add": ("deal", {"POST"}),
    "buying_team_remove": ("team_member", {"POST"}),
    "account_list": (None, {"GET"}),
    "account_create": (None, {"GET", "POST"}),
    "account_detail": ("account", {"GET"}),
    "account_edit": ("account", {"GET", "POST"}),
    "account_activity_log": ("account", {"POST"}),
    "account_activities": ("account", {"GET"}),
    "account_history": ("account", {"GET"}),
    "contact_create": ("account", {"GET", "POST"}),
    "contact_edit": ("contact", {"GET", "POST"}),
    "contact_list": (None, {"GET"}),
    "contact_detail": ("contact", {"GET"}),
    "search": (None, {"GET"}),
}
DEAL_ENDPOINTS = [name for name, (on, _) in ENDPOINTS.items() if on in ("deal", "milestone", "team_member")]
DEAL_READS = ["detail", "history", "activities"]
DEAL_WRITES = [name for name in DEAL_ENDPOINTS if name not in DEAL_READS]


def url_of(name: str, w=None) -> str:
    """The URL of endpoint `name`, for the objects of `w` (or placeholder ids without one)."""
    on = ENDPOINTS[name][0]
    if w is None:
        args = {None: [], "deal": [1], "milestone": [1, 1], "team_member": [1, 1], "account": [1], "contact": [1]}[on]
    else:
        args = {
            None: [],
            "deal": [w.opp.pk],
            "milestone": [w.opp.pk, w.optional.pk],
            "team_member": [w.opp.pk, w.contact.pk],
            "account": [w.account.pk],
            "contact": [w.contact.pk],
        }[on]
    return reverse(f"opportunities:{name}", args=args)


def valid_post(name: str, w) -> dict:
    """A POST each deal write would accept from someone allowed to make it."""
    opp = w.opp
    return {
        "edit": {
            "version": opp.version,
            "name": "Acme rollout, phase 1",
            "amount": "60000",
            "expected_close_date": (w.today + 40 * DAY).isoformat(),
            "owner": opp.owner_id,
        },
        "move": {"to_stage": w.stages[1].pk},
        "close_won": {"notes": "Champion carried it"},
        "close_lost": {"reason": w.reason.pk, "notes": "Too expensive"},
        "reopen": {"description": "Call them back", "due_date": (w.today + 2 * DAY).isoformat()},
        "milestone_toggle": {"done": "on", "evidence": "Email of 1 March"},
        "next_step_set": {"description": "Book the demo", "due_date": (w.today + 3 * DAY).isoformat()},
        "next_step_complete": {"description": "Send the contract", "due_date": (w.today + 10 * DAY).isoformat()},
        "activity_log": {"kind": "call", "subject": "Pricing call"},
        "buying_team_add": {"contact": w.second.pk, "roles": ["economic_buyer"]},
        "buying_team_remove": {},
    }[name]


# name -> the event verbs a successful write appends, in order
EXPECTED_VERBS = {
    "edit": [EventVerb.EDITED, EventVerb.AMOUNT_CHANGED, EventVerb.CLOSE_DATE_CHANGED],
    "move": [EventVerb.STAGE_MOVED],
    "close_won": [EventVerb.STAGE_MOVED, EventVerb.CLOSED_WON],  # won in Qualify: moved to the last stage
    "close_lost": [EventVerb.CLOSED_LOST],
    "milestone_toggle": [EventVerb.MILESTONE_TICKED],
    "next_step_set": [EventVerb.NEXT_STEP_SET],
    "next_step_complete": [EventVerb.NEXT_STEP_COMPLETED, EventVerb.NEXT_STEP_SET],
    "activity_log": [EventVerb.ACTIVITY_LOGGED],
    "buying_team_add": [EventVerb.BUYING_TEAM_CHANGED],
    "buying_team_remove": [EventVerb.BUYING_TEAM_CHANGED],
}


def assert_write_applied(name: str, w, actor) -> None:
    opp = fresh(w.opp)
    match name:
        case "edit":
            assert (opp.name, opp.amount) == ("Acme rollout, phase 1", Decimal("60000.00"))
            assert opp.expected_close_date == w.today + 40 * DAY
        case "move":
            assert opp.stage == w.stages[1]
        case "close_won":
            assert opp.status == OpportunityStatus.WON and opp.close_notes == "Champion carried it"
        case "close_lost":
            assert opp.status == OpportunityStatus.LOST and opp.lost_reason == w.reason
        case "milestone_toggle":
            done = MilestoneCompletion.objects.get(opportunity=opp, milestone=w.optional)
            assert (done.completed_by, done.evidence) == (actor, "Email of 1 March")
        case "next_step_set":
            assert opp.next_step.description == "Book the demo"
            assert NextStep.objects.filter(opportunity=opp, completed_at__isnull=True).count() == 1
        case "next_step_complete":
            assert opp.next_step.description == "Send the contract"
            assert NextStep.objects.filter(opportunity=opp, completed_at__isnull=True).count() == 1
            assert NextStep.objects.get(opportunity=opp, description="Send proposal").completed_by == actor
        case "activity_log":
            activity = Activity.objects.get(opportunity=opp)
            assert (activity.subject, activity.created_by, activity.account_id) == (
                "Pricing call",
                actor,
                opp.account_id,
            )
        case "buying_team_add":
            assert BuyingTeamMember.objects.get(opportunity=opp, contact=w.second).roles == ["economic_buyer"]
        case "buying_team_remove":
            assert not BuyingTeamMember.objects.filter(opportunity=opp, contact=w.contact).exists()
        case _:
            raise AssertionError(name)


# --- anonymous, methods, access -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_anonymous_is_sent_to_login(client, db, name):
    url = url_of(name)
    for method in sorted(ENDPOINTS[name][1]):
        response = getattr(client, method.lower())(url)
        assert response.status_code == 302, (method, url)
        assert response.url == f"{reverse('login')}?next={url}"


@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_wrong_method_is_405(client_for, owner, name):
    client = client_for(owner)
    url = url_of(name)
    wrong = {"GET", "POST", "PUT", "PATCH", "DELETE"} - ENDPOINTS[name][1]
    assert wrong
    for method in sorted(wrong):
        response = getattr(client, method.lower())(url)
        assert response.status_code == 405, (method, url)
        assert set(response["Allow"].split(", ")) == ENDPOINTS[name][1]


@pytest.mark.parametrize("name", DEAL_ENDPOINTS)
def test_outsider_gets_404_and_nothing_changes(client_for, outsider, world, name):
    client = client_for(outsider)
    w = world
    before = state(w.opp)
    for method in sorted(ENDPOINTS[name][1]):
        data = valid_post(name, w) if method == "POST" and name in EXPECTED_VERBS else {}
        response = getattr(client, method.lower())(url_of(name, w), data)
        assert response.status_code == 404, method
    assert state(w.opp) == before


@pytest.mark.parametrize("name", DEAL_WRITES)
def test_read_only_teammate_gets_403_and_nothing_changes(client_for, viewer, world, name):
    client = client_for(viewer)
    assert client.get(url_of("detail", world)).status_code == 200
    before = state(world.opp)
    data = valid_post(name, world) if name in EXPECTED_VERBS else {}
    for method in sorted(ENDPOINTS[name][1]):
        response = getattr(client, method.lower())(url_of(name, world), data)
        assert response.status_code == 403, method
    # htmx does not get around it either
    assert client.post(url_of(name, world), data, **HTMX).status_code == 403
    assert state(world.opp) == before


@pytest.mark.parametrize("name", list(EXPECTED_VERBS))
@pytest.mark.parametrize("actor_name", ["owner", "manager", "admin"])
def test_deal_write_works(request, client_for, world, name, actor_name):
    actor = request.getfixturevalue(actor_name)
    client = client_for(actor)
    since = last_event_id()

    response = client.post(url_of(name, world), valid_post(name, world))

    assert response.status_code == 302
    assert response.url.startswith(reverse("opportunities:detail", args=[world.opp.pk]))
    assert_write_applied(name, world, actor)
    assert verbs_after(world.opp, since) == EXPECTED_VERBS[name]
    assert set(OpportunityEvent.objects.filter(pk__gt=since).values_list("actor", flat=True)) == {actor.pk}


@pytest.mark.parametrize(
    "name", ["move", "milestone_toggle", "next_step_set", "activity_log", "buying_team_add", "buying_team_remove"]
)
def test_deal_write_by_htmx_returns_the_deal_partial(client_for, owner, world, name):
    since = last_event_id()

    response = client_for(owner).post(url_of(name, world), valid_post(name, world), **HTMX)

    assert response.status_code == 200
    assert_partial(response)
    assert 'id="deal"' in text(response)
    assert_write_applied(name, world, owner)
    assert verbs_after(world.opp, since) == EXPECTED_VERBS[name]


# --- my deals ---------------------------------------------------------------------------------------------------


@pytest.fixture
def deals(owner, teammate, account, process, other_process, now):
    """Five of owner's deals across two processes, stages, months and statuses, plus one of
    teammate's."""
    qualify, discover, _ = process.stages.order_by("order")
    renewal_first = other_process.stages.order_by("order").first()
    acme_two = AccountFactory(name="Globex", owner=owner)
    make = OpportunityFactory
    return SimpleNamespace(
        alpha=make(
            name="Alpha",
            owner=owner,
            account=account,
            process=process,
            stage=qualify,
            amount=Decimal("300"),
            expected_close_date=dt.date(2026, 3, 20),
        ),
        bravo=make(
            name="Bravo",
            owner=owner,
            account=acme_two,
            process=process,
            stage=discover,
            amount=Decimal("100"),
            expected_close_date=dt.date(2026, 4, 10),
        ),
        charlie=make(
            name="Charlie",
            owner=owner,
            account=account,
            process=other_process,
            stage=renewal_first,
            amount=Decimal("200"),
            expected_close_date=dt.date(2026, 3, 5),
        ),
        won=make(
            name="Won deal",
            owner=owner,
            account=account,
            process=process,
            stage=discover,
            status=OpportunityStatus.WON,
            expected_close_date=dt.date(2026, 3, 1),
        ),
        lost=make(
            name="Lost deal",
            owner=owner,
            account=account,
            process=process,
            stage=qualify,
            status=OpportunityStatus.LOST,
            expected_close_date=dt.date(2026, 2, 1),
        ),
        theirs=make(
            name="Teammate deal",
            owner=teammate,
            account=account,
            process=process,
            stage=qualify,
            expected_close_date=dt.date(2026, 3, 25),
        ),
    )


def my_deals(client, **params):
    return client.get(reverse("opportunities:my_deals"), params)


def test_my_deals_lists_my_open_deals_by_close_date(client_for, owner, deals):
    response = my_deals(client_for(owner))
    assert response.status_code == 200
    assert "<html" in text(response)
    assert deal_names(response) == ["Charlie", "Alpha", "Bravo"]
    assert "Globex" in text(response) and "Renewal" in text(response)


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("close", ["Charlie", "Alpha", "Bravo"]),
        ("-close", ["Bravo", "Alpha", "Charlie"]),
        ("amount", ["Bravo", "Charlie", "Alpha"]),
        ("-amount", ["Alpha", "Charlie", "Bravo"]),
        ("name", ["Alpha", "Bravo", "Charlie"]),
    ],
)
def test_my_deals_sorts(client_for, owner, deals, sort, expected):
    assert deal_names(my_deals(client_for(owner), sort=sort)) == expected


def test_my_deals_headers_sort_and_say_how(client_for, owner, deals):
    body = text(my_deals(client_for(owner), sort="amount", per_page=10))
    # The sorted column says so; its link reverses it; the others sort by themselves, filters kept.
    sorted_header = '<th scope="col" class="num" aria-sort="ascending"><a class="sort" href="?sort=-amount&amp;'
    assert sorted_header in body
    assert '<a class="sort" href="?sort=close&amp;per_page=10">Close date</a>' in body
    assert body.count("aria-sort=") == 1
    assert '<option value="-amount">Amount, largest first</option>' in body
    assert "3 deals" in body


def test_my_deals_close_month_is_a_select_of_months(client_for, owner, deals, today):
    body = text(my_deals(client_for(owner), close_month="2026-03"))
    assert '<select name="close_month" id="id_close_month">' in body
    assert '<option value="">Any month</option>' in body
    assert '<option value="2026-03" selected>Mar 2026</option>' in body
    assert 'type="month"' not in body
    # A month outside the list (from a link) still shows as the filter in force.
    old = text(my_deals(client_for(owner), close_month="2001-01"))
    assert '<option value="2001-01" selected>2001-01</option>' in old


def test_my_deals_sorts_by_stage_order(client_for, owner, deals):
    names = deal_names(my_deals(client_for(owner), sort="stage", process=deals.alpha.process_id))
    assert names == ["Alpha", "Bravo"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"process": "PROCESS"}, ["Alpha", "Bravo"]),
        ({"stage": "DISCOVER"}, ["Bravo"]),
        ({"close_month": "2026-03"}, ["Charlie", "Alpha"]),
        ({"close_month": "2026-04"}, ["Bravo"]),
        ({"status": "won"}, ["Won deal"]),
        ({"status": "lost"}, ["Lost deal"]),
        ({"status": ""}, ["Lost deal", "Won deal", "Charlie", "Alpha", "Bravo"]),
        ({"q": "alp"}, ["Alpha"]),
        ({"q": "GLOBEX"}, ["Bravo"]),
        ({"q": "acme"}, ["Charlie", "Alpha"]),
        ({"q": "nothing like it"}, []),
        ({"process": "PROCESS", "close_month": "2026-03", "q": "a"}, ["Alpha"]),
    ],
)
def test_my_deals_filters(client_for, owner, deals, params, expected):
    ids = {"PROCESS": deals.alpha.process_id, "DISCOVER": deals.bravo.stage_id}
    params = {key: ids.get(value, value) for key, value in params.items()}
    response = my_deals(client_for(owner), **params)
    assert response.status_code == 200
    assert deal_names(response) == expected
    if not expected:
        assert "No deals match." in text(response)


def test_my_deals_scope_all_shows_what_the_user_may_read(client_for, owner, manager, outsider, deals):
    as_manager = my_deals(client_for(manager), scope="all")
    assert set(deal_names(as_manager)) == {"Alpha", "Bravo", "Charlie", "Teammate deal"}
    assert "Deals I can see" in text(as_manager)
    assert "Tom Teammate" in text(as_manager)  # the owner column
    assert deal_names(my_deals(client_for(manager))) == []  # the manager owns none
    assert set(deal_names(my_deals(client_for(owner), scope="all"))) == {"Alpha", "Bravo", "Charlie", "Teammate deal"}
    assert deal_names(my_deals(client_for(outsider), scope="all")) == []


def test_my_deals_scope_all_respects_own_only_visibility(client_for, owner, deals):
    OrgSettings.objects.update_or_create(pk=1, defaults={"visibility": Visibility.OWN})
    assert set(deal_names(my_deals(client_for(owner), scope="all"))) == {"Alpha", "Bravo", "Charlie"}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"close_month": "2026-13"}, "Close month must look like 2026-03."),
        ({"close_month": "March"}, "Close month must look like 2026-03."),
        ({"close_month": "1999-01"}, "Close month must look like 2026-03."),
        ({"stage": "999999"}, "Select a valid choice."),
        ({"stage": "abc"}, "Select a valid choice."),
        ({"process": "1.5"}, "Select a valid choice."),
        ({"status": "pending"}, "Select a valid choice."),
        ({"sort": "owner__password"}, "Select a valid choice."),
        ({"scope": "everyone"}, "Select a valid choice."),
    ],
)
def test_my_deals_bad_filter_says_why_and_lists_nothing(client_for, owner, deals, params, message):
    response = my_deals(client_for(owner), **params)
    assert response.status_code == 200
    assert message in text(response)
    assert 'role="alert"' in text(response)
    assert deal_names(response) == []


def test_my_deals_filter_for_a_stage_of_another_process_finds_nothing(client_for, owner, deals, other_process):
    renewal_stage = other_process.stages.order_by("order").first()
    response = my_deals(client_for(owner), process=deals.alpha.process_id, stage=renewal_stage.pk)
    assert response.status_code == 200
    assert deal_names(response) == []


@pytest.fixture
def many_deals(owner, account, process, now):
    first = process.stages.order_by("order").first()
    return [
        OpportunityFactory(
            name=f"Deal {i:02d}",
            owner=owner,
            account=account,
            process=process,
            stage=first,
            expected_close_date=now.date() + i * DAY,
        )
        for i in range(1, 31)
    ]


def test_my_deals_paginates_and_keeps_the_filters_in_page_links(client_for, owner, many_deals):
    response = my_deals(client_for(owner), per_page=10, page=2, q="Deal", sort="close")
    assert deal_names(response) == [f"Deal {i:02d}" for i in range(11, 21)]
    body = text(response)
    assert "Page 2 of 3 · 30 in all" in body
    assert "page=1" in body and "page=3" in body
    for link in re.findall(r'(?<!class="sort" )href="\?([^"]*)"', body):  # page links, not sort headers
        assert "per_page=10" in link and "q=Deal" in link and "sort=close" in link
        assert link.count("page=") == 2  # per_page= and page=, never page= twice
        assert "#" not in link  # one list on the page: no anchor to land on
    assert 'aria-label="Pages"' in body


@pytest.mark.parametrize(("page", "expected_page"), [("abc", 1), ("0", 3), ("-1", 3), ("99", 3), ("", 1)])
def test_my_deals_bad_page_number_shows_a_real_page(client_for, owner, many_deals, page, expected_page):
    response = my_deals(client_for(owner), per_page=10, page=page)
    assert response.status_code == 200
    assert f"Page {expected_page} of 3" in text(response)
    assert len(deal_names(response)) == 10


def test_my_deals_unknown_page_size_falls_back_to_25(client_for, owner, many_deals):
    for per_page in ("7", "lots", "-10", "100000"):
        response = my_deals(client_for(owner), per_page=per_page)
        assert len(deal_names(response)) == 25
        assert "Page 1 of 2 · 30 in all" in text(response)


def test_my_deals_htmx_returns_only_the_rows(client_for, owner, deals):
    response = client_for(owner).get(reverse("opportunities:my_deals"), {"q": "alp"}, **HTMX)
    assert response.status_code == 200
    assert_partial(response)
    assert deal_names(response) == ["Alpha"]
    assert 'class="filters"' not in text(response)


def test_my_deals_boosted_htmx_gets_the_whole_page(client_for, owner, deals):
    response = client_for(owner).get(reverse("opportunities:my_deals"), HTTP_HX_BOOSTED="true", **HTMX)
    assert "<html" in text(response)


def test_my_deals_next_step_badges(client_for, owner, account, process, today):
    first = process.stages.order_by("order").first()

    def deal(name, due):
        opp = OpportunityFactory(name=name, owner=owner, account=account, process=process, stage=first)
        if due is not None:
            opp.next_step = NextStepFactory(opportunity=opp, description=f"Step of {name}", due_date=due)
            opp.save(update_fields=["next_step"])
        return opp

    deal("None", None)
    deal("Late", today - DAY)
    deal("Today", today)
    deal("Later", today + 5 * DAY)

    body = text(my_deals(client_for(owner), sort="name"))
    rows = dict(re.findall(r'<a href="/deals/\d+/">(\w+)</a>.*?<span class="step step-(\w+)">', body, re.S))
    assert rows == {"Late": "overdue", "Later": "later", "None": "none", "Today": "today"}
    assert "No next step" in body and "Overdue" in body and "Due today" in body and "Planned" in body
    assert "Step of Late" in body


def test_my_deals_escapes_user_strings(client_for, owner, process, now):
    account = AccountFactory(name=XSS, owner=owner)
    OpportunityFactory(name=f"Deal {XSS}", owner=owner, account=account, process=process, stage=process.stages.first())
    body = text(my_deals(client_for(owner)))
    assert escape(XSS) in body
    assert XSS not in body


# --- create -------------------------------------------------------------------------------------------------------


def create_data(acc, proc, today, **overrides):
    data = {
        "account": acc.pk,
        "process": proc.pk,
        "name": "New deal",
        "amount": "1200.50",
        "expected_close_date": (today + 30 * DAY).isoformat(),
    }
    data.update(overrides)
    return data


def test_create_form_renders_and_preselects_the_account(client_for, owner, account, process):
    response = client_for(owner).get(reverse("opportunities:create"), {"account": account.pk})
    assert response.status_code == 200
    assert f'<input type="radio" name="account" value="{account.pk}" checked> Acme Corp' in text(response)
    assert 'name="owner"' not in text(response)  # a rep owns what they create


def test_create_form_finds_accounts_by_type_ahead_and_never_lists_all_of_them(client_for, owner, account, process):
    AccountFactory(name="Globex Corporation")
    client = client_for(owner)
    assert "Globex" not in text(client.get(reverse("opportunities:create")))
    found = text(client.get(reverse("opportunities:create"), {"account_q": "glob"}))
    assert 'name="account"' in found and "Globex Corporation" in found and "Acme Corp" not in found


def test_create_form_ignores_an_account_the_user_may_not_see(client_for, owner, outsider):
    hidden = AccountFactory(name="Hidden Inc", owner=outsider)
    OrgSettings.objects.update_or_create(pk=1, defaults={"account_visibility": "own"})
    body = text(client_for(owner).get(reverse("opportunities:create"), {"account": hidden.pk}))
    assert "Hidden Inc" not in body


def test_create_makes_the_deal_and_its_first_event(client_for, owner, account, process, today):
    data = create_data(
        account, process, today, next_step_description="Intro call", next_step_due_date=(today + 2 * DAY).isoformat()
    )
    response = client_for(owner).post(reverse("opportunities:create"), data)

    opp = Opportunity.objects.get(name="New deal")
    assert response.status_code == 302
    assert response.url == reverse("opportunities:detail", args=[opp.pk])
    assert (opp.owner, opp.amount, opp.stage.name) == (owner, Decimal("1200.50"), "Qualify")
    assert opp.next_step.description == "Intro call"
    assert list(opp.events.order_by("id").values_list("verb", flat=True)) == [
        EventVerb.CREATED,
        EventVerb.NEXT_STEP_SET,
    ]


def test_manager_creates_a_deal_for_a_rep(client_for, manager, owner, account, process, today):
    client = client_for(manager)
    assert 'name="owner"' in text(client.get(reverse("opportunities:create")))
    response = client.post(reverse("opportunities:create"), create_data(account, process, today, owner=owner.pk))
    assert response.status_code == 302
    opp = Opportunity.objects.get(name="New deal")
    assert opp.owner == owner
    assert opp.events.get().actor == manager


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"amount": "-5"}, "Ensure this value is greater than or equal to 0."),
        ({"amount": "lots"}, "Enter a number."),
        ({"expected_close_date": "2026-02-30"}, "Enter a valid date."),
        ({"expected_close_date": "2026-03-01"}, "Expected close date cannot be before 2026-03-02."),
        ({"process": "999999"}, "Select a valid choice."),
        ({"account": "abc"}, "Select a valid choice."),
        ({"name": ""}, "This field is required."),
        ({"next_step_description": "Call"}, "Give the next step both a description and a due date, or neither."),
    ],
)
def test_create_refuses_bad_input(client_for, owner, account, process, today, overrides, message):
    data = create_data(account, process, today) | overrides
    response = client_for(owner).post(reverse("opportunities:create"), data)
    assert response.status_code == 400
    assert escape(message) in text(response)
    assert not Opportunity.objects.exists()
    assert not OpportunityEvent.objects.exists()


def test_rep_cannot_create_a_deal_for_someone_else(client_for, owner, teammate, account, process, today):
    response = client_for(owner).post(
        reverse("opportunities:create"), create_data(account, process, today, owner=teammate.pk)
    )
    # A rep's form has no owner field: the posted owner is ignored and the rep owns the deal.
    assert response.status_code == 302
    assert Opportunity.objects.get().owner == owner


def test_manager_cannot_create_a_deal_for_a_rep_of_another_team(client_for, manager, outsider, account, process, today):
    response = client_for(manager).post(
        reverse("opportunities:create"), create_data(account, process, today, owner=outsider.pk)
    )
    assert response.status_code == 400
    assert "Select a valid choice." in text(response)
    assert not Opportunity.objects.exists()


def test_create_with_an_inactive_process_says_so(client_for, owner, account, process, today):
    process.is_active = False
    process.save()
    response = client_for(owner).post(reverse("opportunities:create"), create_data(account, process, today))
    assert response.status_code == 400
    assert not Opportunity.objects.exists()


# --- the deal page ----------------------------------------------------------------------------------------------


def test_detail_shows_the_deal(client_for, owner, world):
    response = client_for(owner).get(url_of("detail", world))
    body = text(response)
    assert response.status_code == 200
    assert "<html" in body
    assert "<h1>Acme rollout" in body
    assert "Acme Corp" in body and "New business" in body
    for stage in world.stages:
        assert f'<span class="stage-name">{stage.name}</span>' in body
    assert "Send proposal" in body  # next step
    assert "Carla Contact" in body and "Champion" in body  # buying team
    assert "Created in Qualify" in body  # history
    assert "Edit details" in body and "Close won" in body


@pytest.mark.parametrize("reader", ["teammate", "manager", "admin"])
def test_permitted_readers_see_the_deal(request, client_for, world, reader):
    user = request.getfixturevalue(reader)
    response = client_for(user).get(url_of("detail", world))
    assert response.status_code == 200
    body = text(response)
    assert "<h1>Acme rollout" in body
    can_write = reader != "teammate"
    assert ("Edit details" in body) is can_write
    assert ("Close won" in body) is can_write
    assert ("Log activity" in body) is can_write
    assert ('name="override_reason"' in body) is can_write  # manager and admin may override


def test_detail_htmx_returns_the_partial(client_for, owner, world):
    response = client_for(owner).get(url_of("detail", world), **HTMX)
    assert response.status_code == 200
    assert_partial(response)
    assert text(response).startswith('<div id="deal"')


def test_detail_of_a_missing_deal_is_404(client_for, admin, db):
    assert client_for(admin).get(reverse("opportunities:detail", args=[999999])).status_code == 404


def test_detail_escapes_user_strings(client_for, owner, process, now):
    account = AccountFactory(name=XSS, owner=owner)
    opp = services.opportunity_create(
        actor=owner,
        account=account,
        process=process,
        name=f"Deal {XSS}",
        amount="1",
        expected_close_date=now.date() + DAY,
        next_step_description=f"Step {XSS}",
        next_step_due_date=now.date() + DAY,
        now=now,
    )
    contact = ContactFactory(account=account, first_name=XSS, last_name="X", title=XSS)
    services.buying_team_add(opp, actor=owner, contact=contact, roles=["champion"], now=now)
    services.activity_log(
        actor=owner, opportunity=opp, kind="call", subject=XSS, notes=XSS, contacts=[contact], now=now
    )
    milestone = Milestone.objects.filter(stage__process=process).first()
    services.milestone_tick(
        opp, actor=owner, milestone=milestone, evidence=f"<img src=x onerror=alert(1)> {XSS}", now=now
    )

    body = text(client_for(owner).get(reverse("opportunities:detail", args=[opp.pk])))
    assert escape(XSS) in body
    assert XSS not in body
    assert "<img src=x" not in body


@pytest.mark.parametrize("viewer_name", ["owner", "teammate", "manager"])
def test_every_control_on_the_deal_page_is_labelled(request, client_for, world, viewer_name, contact):
    user = request.getfixturevalue(viewer_name)
    body = text(client_for(user).get(url_of("detail", world)))
    count = assert_every_control_labelled(body)
    assert count >= (10 if viewer_name != "teammate" else 0)


def test_every_control_on_a_closed_deal_is_labelled(client_for, manager, world):
    services.opportunity_close_lost(world.opp, actor=manager, reason=world.reason)
    body = text(client_for(manager).get(url_of("detail", world)))
    assert "Reopen" in body
    assert_every_control_labelled(body)


@pytest.mark.parametrize(
    "url_name",
    [
        "my_deals",
        "create",
        "edit",
        "next_step_complete",
        "account_list",
        "account_create",
        "account_detail",
        "account_edit",
        "contact_create",
        "contact_edit",
        "contact_list",
        "search",
    ],
)
@pytest.mark.parametrize("user_name", ["owner", "manager"])
def test_every_control_on_the_forms_is_labelled(request, client_for, world, url_name, user_name):
    user = request.getfixturevalue(user_name)
    response = client_for(user).get(url_of(url_name, world))
    assert response.status_code == 200
    assert assert_every_control_labelled(text(response)) >= 1


# --- the latest activities and events on the deal page, and the full lists behind them --------------------------


def add_activities(opp, count: int, now, **fields) -> None:
    """`count` activities on `opp`, "Call 00" the newest, an hour apart."""
    for i in range(count):
        fields.setdefault("created_by", opp.owner)
        ActivityFactory(
            account=opp.account, opportunity=opp, subject=f"Call {i:02d}", occurred_at=now - i * HOUR, **fields
        )


def add_events(opp, count: int, now) -> None:
    """`count` events on `opp`, "Step 00" the newest, a minute apart and later than any other."""
    OpportunityEvent.objects.bulk_create(
        OpportunityEvent(
            opportunity=opp,
            actor=opp.owner,
            verb=EventVerb.NEXT_STEP_SET,
            data={"description": f"Step {i:02d}", "due_date": "2026-04-01"},
            created_at=now + DAY - i * MINUTE,
        )
        for i in range(count)
    )


def test_deal_page_shows_the_latest_activities_and_events_and_links_to_all(client_for, owner, world, now):
    add_activities(world.opp, LATEST_SHOWN + 5, now)
    add_events(world.opp, LATEST_SHOWN + 5, now)

    body = text(client_for(owner).get(url_of("detail", world)))

    subjects = re.findall(r"<strong>(Call \d\d)</strong>", body)
    assert subjects == [f"Call {i:02d}" for i in range(LATEST_SHOWN)]
    steps = re.findall(r"Next step: (Step \d\d)", body)
    assert steps == [f"Step {i:02d}" for i in range(LATEST_SHOWN)]
    assert f'<a href="{url_of("activities", world)}">Show all activity</a>' in body
    assert f'<a href="{url_of("history", world)}">Show all history</a>' in body


def test_deal_page_links_to_the_full_lists_only_when_there_is_more(client_for, owner, world, now):
    add_activities(world.opp, LATEST_SHOWN, now)
    assert OpportunityEvent.objects.filter(opportunity=world.opp).count() < LATEST_SHOWN

    body = text(client_for(owner).get(url_of("detail", world)))

    assert len(re.findall(r"<strong>Call \d\d</strong>", body)) == LATEST_SHOWN
    assert "Show all activity" not in body and "Show all history" not in body
    assert "Created in Qualify" in body


@pytest.mark.parametrize("reader", ["owner", "teammate", "manager", "admin"])
def test_full_history_pages_through_every_event_newest_first(request, client_for, world, now, reader):
    add_events(world.opp, 25, now)
    total = OpportunityEvent.objects.filter(opportunity=world.opp).count()
    client = client_for(request.getfixturevalue(reader))

    first = client.get(url_of("history", world), {"per_page": 10})
    last = client.get(url_of("history", world), {"per_page": 10, "page": 4})

    assert first.status_code == last.status_code == 200
    assert re.findall(r"Next step: (Step \d\d)", text(first)) == [f"Step {i:02d}" for i in range(10)]
    assert f"Page 1 of 4 · {total} in all" in text(first)
    assert 'href="?per_page=10&amp;page=2"' in text(first)  # the page size survives paging
    assert "Created in Qualify" in text(last)  # the oldest event comes last
    assert f'<a href="{url_of("detail", world)}">Acme rollout</a>' in text(first)


@pytest.mark.parametrize("reader", ["owner", "teammate", "manager", "admin"])
def test_full_activity_list_pages_through_every_activity_newest_first(request, client_for, world, now, reader):
    add_activities(world.opp, 30, now)
    Activity.objects.get(subject="Call 00").contacts.set([world.contact, world.second])
    ActivityFactory(account=world.account, subject="Account-only call")  # not the deal's
    client = client_for(request.getfixturevalue(reader))

    first = text(client.get(url_of("activities", world)))
    second = text(client.get(url_of("activities", world), {"page": 2}))

    assert re.findall(r"<strong>(Call \d\d)</strong>", first) == [f"Call {i:02d}" for i in range(25)]
    assert re.findall(r"<strong>(Call \d\d)</strong>", second) == [f"Call {i:02d}" for i in range(25, 30)]
    assert "with Carla Contact, Sam Second" in first
    assert "Page 1 of 2 · 30 in all" in first
    assert "Account-only call" not in first + second


def test_full_lists_of_a_deal_escape_user_strings(client_for, owner, world, now):
    contact = ContactFactory(account=world.account, first_name=XSS)
    ActivityFactory(
        account=world.account, opportunity=world.opp, subject=XSS, notes=XSS, created_by=owner
    ).contacts.set([contact])
    services.next_step_set(world.opp, actor=owner, description=XSS, due_date=world.today + DAY, now=now)
    Opportunity.objects.filter(pk=world.opp.pk).update(name=XSS)
    for name in ("history", "activities"):
        body = text(client_for(owner).get(url_of(name, world)))
        assert escape(XSS) in body, name
        assert XSS not in body, name


# --- contacts to pick from on the deal page -------------------------------------------------------------------


@pytest.fixture
def crowded_account(world):
    """Sixty more contacts at the account, all sorting before the buying team's Carla Contact."""
    for i in range(60):
        ContactFactory(account=world.account, first_name="Ann", last_name=f"Aaron {i:02d}")
    return world


def picker_options(body: str) -> list[str]:
    select = re.search(r'<select name="contact" id="bt-contact">(.*?)</select>', body, re.S).group(1)
    return re.findall(r'<option value="\d+">([^<]*)</option>', select)


def took_part(body: str) -> list[str]:
    return re.findall(r'<input type="checkbox" name="contacts" value="\d+"> ([^<]*)', body)


def test_deal_page_offers_a_limited_list_of_contacts_buying_team_first(client_for, owner, crowded_account):
    body = text(client_for(owner).get(url_of("detail", crowded_account)))

    assert len(picker_options(body)) == len(took_part(body)) == CONTACT_PICK_LIMIT
    assert picker_options(body)[0] == "Carla Contact"  # on the buying team
    assert took_part(body)[:2] == ["Carla Contact", "Ann Aaron 00"]
    assert body.count('name="contact_q"') == 2  # a search next to each list
    assert f"Only the first {CONTACT_PICK_LIMIT} contacts are listed" in body
    assert_every_control_labelled(body)


def test_deal_page_contact_search_narrows_both_lists(client_for, owner, crowded_account):
    response = client_for(owner).get(url_of("detail", crowded_account), {"contact_q": "sam SEC"})
    body = text(response)

    assert picker_options(body) == took_part(body) == ["Sam Second"]
    assert (
        '<div class="disclosure open">\n    <button type="button" class="disclosure-toggle" aria-expanded="true" '
        'aria-controls="buying-team-add">Add someone</button>'
    ) in body
    assert 'value="sam SEC"' in body
    assert "Only the first" not in body
    nobody = text(client_for(owner).get(url_of("detail", crowded_account), {"contact_q": "<zz>"}))
    assert "No contact matches “&lt;zz&gt;”." in nobody
    assert_every_control_labelled(nobody)


def test_a_contact_missing_from_the_list_can_still_be_added(client_for, owner, crowded_account):
    last = Contact.objects.filter(account=crowded_account.account).order_by("-last_name").first()
    assert last.name not in picker_options(text(client_for(owner).get(url_of("detail", crowded_account))))
    response = client_for(owner).post(
        url_of("buying_team_add", crowded_account), {"contact": last.pk, "roles": ["user"]}
    )
    assert response.status_code == 302
    assert BuyingTeamMember.objects.filter(opportunity=crowded_account.opp, contact=last).exists()


def test_small_accounts_get_no_contact_search(client_for, owner, world):
    body = text(client_for(owner).get(url_of("detail", world)))
    assert 'name="contact_q"' not in body
    assert picker_options(body) == ["Carla Contact", "Sam Second"]


# --- edit ------------------------------------------------------------------------------------------------------


def test_edit_form_shows_the_current_values_and_version(client_for, owner, world):
    body = text(client_for(owner).get(url_of("edit", world)))
    assert f'name="version" value="{world.opp.version}"' in body
    assert 'value="Acme rollout"' in body
    assert 'name="owner"' not in body  # reps cannot reassign


def test_manager_reassigns_within_the_team(client_for, manager, teammate, world):
    data = valid_post("edit", world) | {"owner": teammate.pk}
    response = client_for(manager).post(url_of("edit", world), data)
    assert response.status_code == 302
    assert fresh(world.opp).owner == teammate
    assert EventVerb.OWNER_CHANGED in verbs_after(world.opp, 0)


def test_edit_without_changes_writes_nothing(client_for, owner, world):
    before = state(world.opp)
    data = valid_post("edit", world) | {
        "name": world.opp.name,
        "amount": str(world.opp.amount),
        "expected_close_date": world.opp.expected_close_date.isoformat(),
    }
    assert client_for(owner).post(url_of("edit", world), data).status_code == 302
    assert state(world.opp) == before


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"amount": "-1"}, "Ensure this value is greater than or equal to 0."),
        ({"amount": "1e20"}, "Ensure that there are no more than 14 digits in total."),
        ({"expected_close_date": "31/12/2026"}, "Enter a valid date."),
        ({"expected_close_date": "1999-12-31"}, "Expected close date cannot be before 2000-01-01."),
        ({"expected_close_date": "2040-01-01"}, "Expected close date is more than 10 years away."),
        ({"name": "   "}, "This field is required."),
        ({"version": "x"}, "This form is damaged or out of date (Enter a whole number.); reload the page"),
    ],
)
def test_edit_refuses_bad_input(client_for, owner, world, overrides, message):
    before = state(world.opp)
    response = client_for(owner).post(url_of("edit", world), valid_post("edit", world) | overrides)
    assert response.status_code == 400
    assert escape(message) in text(response)
    assert state(world.opp) == before


def test_manager_edit_with_an_owner_outside_the_team_is_refused(client_for, manager, outsider, world):
    before = state(world.opp)
    response = client_for(manager).post(url_of("edit", world), valid_post("edit", world) | {"owner": outsider.pk})
    assert response.status_code == 400
    assert "Select a valid choice." in text(response)
    assert state(world.opp) == before


# --- move, close, reopen ------------------------------------------------------------------------------------------


def test_moving_forward_without_required_milestones_is_refused_by_name(client_for, owner, opportunity, process):
    discover = process.stages.order_by("order")[1]
    before = state(opportunity)
    response = client_for(owner).post(
        reverse("opportunities:move", args=[opportunity.pk]), {"to_stage": discover.pk}, follow=True
    )
    assert response.status_code == 200
    body = text(response)
    assert (
        escape("Cannot move to Discover: required milestones are not done — Qualify: Check 1; Qualify: Check 2.")
        in body
    )
    assert "Optional 1" not in body.split("required milestones are not done")[1].split("</p>")[0]
    assert state(opportunity) == before


def test_skipping_ahead_lists_the_missing_milestones_of_every_stage_passed(client_for, owner, opportunity, process):
    qualify, _, propose = process.stages.order_by("order")
    services.milestone_tick(opportunity, actor=owner, milestone=qualify.milestones.get(name="Check 1"))
    response = client_for(owner).post(
        reverse("opportunities:move", args=[opportunity.pk]), {"to_stage": propose.pk}, follow=True
    )
    assert "Qualify: Check 2; Discover: Check 1; Discover: Check 2." in text(response)
    assert fresh(opportunity).stage == qualify


def test_refusal_by_htmx_comes_back_in_the_partial(client_for, owner, opportunity, process):
    discover = process.stages.order_by("order")[1]
    response = client_for(owner).post(
        reverse("opportunities:move", args=[opportunity.pk]), {"to_stage": discover.pk}, **HTMX
    )
    assert response.status_code == 200
    assert_partial(response)
    assert "Qualify: Check 1; Qualify: Check 2." in text(response)
    assert fresh(opportunity).stage.name == "Qualify"


def test_moving_backwards_is_allowed_and_recorded(client_for, owner, world):
    client = client_for(owner)
    client.post(url_of("move", world), {"to_stage": world.stages[2].pk})
    since = last_event_id()
    response = client.post(url_of("move", world), {"to_stage": world.stages[0].pk}, follow=True)
    assert "Moved to Qualify." in text(response)
    assert fresh(world.opp).stage == world.stages[0]
    event = OpportunityEvent.objects.get(pk__gt=since)
    assert (event.verb, event.data["backwards"]) == (EventVerb.STAGE_MOVED, True)


def test_manager_overrides_missing_milestones_with_a_reason(client_for, manager, opportunity, process):
    discover = process.stages.order_by("order")[1]
    response = client_for(manager).post(
        reverse("opportunities:move", args=[opportunity.pk]),
        {"to_stage": discover.pk, "override_reason": "Signed LOI"},
    )
    assert response.status_code == 302
    assert fresh(opportunity).stage == discover
    assert verbs_after(opportunity, 0)[-2:] == [EventVerb.OVERRIDE_USED, EventVerb.STAGE_MOVED]


def test_owner_cannot_override(client_for, owner, opportunity, process):
    discover = process.stages.order_by("order")[1]
    before = state(opportunity)
    response = client_for(owner).post(
        reverse("opportunities:move", args=[opportunity.pk]),
        {"to_stage": discover.pk, "override_reason": "Trust me"},
    )
    assert response.status_code == 403
    assert state(opportunity) == before


@pytest.mark.parametrize("to_stage", ["999999", "abc", "", "OTHER", "CURRENT"])
def test_move_to_an_invalid_stage_says_why(client_for, owner, world, other_process, to_stage):
    ids = {"OTHER": other_process.stages.first().pk, "CURRENT": world.opp.stage_id}
    before = state(world.opp)
    response = client_for(owner).post(url_of("move", world), {"to_stage": ids.get(to_stage, to_stage)}, follow=True)
    assert response.status_code == 200
    body = text(response)
    assert "Move to stage: " in body
    assert ("This field is required." if to_stage == "" else "Select a valid choice.") in body
    assert state(world.opp) == before


# --- a write from a stale deal page -------------------------------------------------------------------------


def page_version(response, action: str) -> str:
    """The `version` the deal page put in the form that posts to `action`."""
    form = re.search(rf'<form method="post" action="{re.escape(action)}".*?</form>', text(response), re.S)
    assert form, f"no form posting to {action}"
    found = re.search(r'<input type="hidden" name="version" value="(\d+)">', form.group(0))
    assert found, f"the form posting to {action} carries no version"
    return found.group(1)


# name -> (who acts, the POST besides the version, the conflict message)
STALE_WRITES = {
    "move": ("owner", lambda w: {"to_stage": w.stages[1].pk}, "nothing was moved."),
    "close_won": ("owner", lambda w: {"notes": "Won"}, "nothing was closed."),
    "close_lost": ("owner", lambda w: {"reason": w.reason.pk}, "nothing was closed."),
    "reopen": (
        "manager",
        lambda w: {"description": "Call them back", "due_date": (w.today + 2 * DAY).isoformat()},
        "nothing was reopened.",
    ),
}


@pytest.mark.parametrize("name", list(STALE_WRITES))
def test_a_write_from_a_stale_deal_page_is_refused_and_changes_nothing(request, client_for, manager, world, name):
    who, data, undone = STALE_WRITES[name]
    if name == "reopen":
        services.opportunity_close_lost(world.opp, actor=manager, reason=world.reason)
    client = client_for(request.getfixturevalue(who))
    page = client.get(url_of("detail", world))
    version = page_version(page, url_of(name, world))
    assert version == str(fresh(world.opp).version)
    # Someone else changes the deal while the page is open: the new amount is not on the page.
    if name == "reopen":
        services.opportunity_update(fresh(world.opp), actor=manager, expected_version=int(version), amount="70000")
    else:
        services.next_step_set(world.opp, actor=manager, description="Call the CFO", due_date=world.today + 2 * DAY)
    before = state(world.opp)
    response = client.post(url_of(name, world), {**data(world), "version": version}, follow=True)
    body = text(response)
    assert f"Someone else changed this opportunity meanwhile; {undone}" in body
    assert "Changed meanwhile: Maya Manager: " in body
    assert state(world.opp) == before
    # Reloaded, the page carries the current version and the same write goes through.
    fresh_version = page_version(response, url_of(name, world))
    assert fresh_version == str(fresh(world.opp).version)
    response = client.post(url_of(name, world), {**data(world), "version": fresh_version})
    assert response.status_code == 302
    assert state(world.opp) != before


def test_a_move_from_a_stale_page_by_htmx_comes_back_in_the_partial(client_for, owner, manager, world):
    version = fresh(world.opp).version
    services.next_step_set(world.opp, actor=manager, description="Call the CFO", due_date=world.today + 2 * DAY)
    before = state(world.opp)
    response = client_for(owner).post(
        url_of("move", world), {"to_stage": world.stages[1].pk, "version": version}, **HTMX
    )
    assert_partial(response)
    assert "Someone else changed this opportunity meanwhile; nothing was moved." in text(response)
    assert state(world.opp) == before


@pytest.mark.parametrize("version", ["0", "abc", "99999999999"])
def test_a_malformed_version_is_refused_with_a_message(client_for, owner, world, version):
    before = state(world.opp)
    response = client_for(owner).post(
        url_of("move", world), {"to_stage": world.stages[1].pk, "version": version}, follow=True
    )
    assert response.status_code == 200
    assert "Version: " in text(response)
    assert state(world.opp) == before


def test_close_won_without_all_required_milestones_names_them(client_for, owner, opportunity):
    before = state(opportunity)
    response = client_for(owner).post(reverse("opportunities:close_won", args=[opportunity.pk]), follow=True)
    body = text(response)
    assert "Cannot close won: required milestones are not done" in body
    assert "Qualify: Check 1; Qualify: Check 2; Discover: Check 1; Discover: Check 2; Propose: Check 1" in body
    assert state(opportunity) == before


@pytest.mark.parametrize("reason", ["", "abc", "999999", "INACTIVE"])
def test_close_lost_needs_a_valid_reason(client_for, owner, world, reason):
    inactive = type(world.reason).objects.create(name="Old reason", is_active=False)
    before = state(world.opp)
    response = client_for(owner).post(
        url_of("close_lost", world), {"reason": inactive.pk if reason == "INACTIVE" else reason}, follow=True
    )
    assert "Lost reason: " in text(response)
    assert state(world.opp) == before


def test_closing_a_closed_deal_is_refused_with_a_message(client_for, owner, world):
    client = client_for(owner)
    client.post(url_of("close_lost", world), {"reason": world.reason.pk})
    before = state(world.opp)
    response = client.post(url_of("close_won", world), follow=True)
    assert "This opportunity is closed lost; reopen it before you close it." in text(response)
    assert state(world.opp) == before


REOPEN = {"waiting_until": "2026-03-20"}  # reopening asks for the next step


def test_manager_reopens_a_closed_deal(client_for, owner, manager, world):
    client_for(owner).post(url_of("close_lost", world), {"reason": world.reason.pk})
    since = last_event_id()
    response = client_for(manager).post(url_of("reopen", world), REOPEN)
    assert response.status_code == 302
    assert fresh(world.opp).status == OpportunityStatus.OPEN
    assert verbs_after(world.opp, since) == [EventVerb.REOPENED, EventVerb.NEXT_STEP_SET]


def test_a_teammate_cannot_reopen(client_for, owner, teammate, world):
    client_for(owner).post(url_of("close_lost", world), {"reason": world.reason.pk})
    before = state(world.opp)
    response = client_for(teammate).post(url_of("reopen", world), REOPEN)
    assert response.status_code == 403
    assert state(world.opp) == before


def test_reopening_an_open_deal_says_so(client_for, manager, world):
    before = state(world.opp)
    response = client_for(manager).post(url_of("reopen", world), REOPEN, follow=True)
    assert "This opportunity is already open." in text(response)
    assert state(world.opp) == before


# --- milestones --------------------------------------------------------------------------------------------------


def test_untick_a_milestone(client_for, owner, world):
    required = MilestoneCompletion.objects.filter(opportunity=world.opp).first().milestone
    since = last_event_id()
    url = reverse("opportunities:milestone_toggle", args=[world.opp.pk, required.pk])
    response = client_for(owner).post(url, {"done": ""})
    assert response.status_code == 302
    assert not MilestoneCompletion.objects.filter(opportunity=world.opp, milestone=required).exists()
    assert verbs_after(world.opp, since) == [EventVerb.MILESTONE_UNTICKED]


def test_ticking_twice_or_unticking_an_open_milestone_says_why(client_for, owner, world):
    client = client_for(owner)
    client.post(url_of("milestone_toggle", world), {"done": "on"})
    before = state(world.opp)
    response = client.post(url_of("milestone_toggle", world), {"done": "on"}, follow=True)
    assert escape("“Optional 1” is already ticked.") in text(response)
    unticked = Milestone.objects.filter(stage=world.stages[1], is_required=False).get()
    url = reverse("opportunities:milestone_toggle", args=[world.opp.pk, unticked.pk])
    response = client.post(url, {"done": ""}, follow=True)
    assert escape("“Optional 1” is not ticked.") in text(response)
    assert state(world.opp) == before


def test_milestone_of_another_process_is_404(client_for, owner, world, other_process):
    foreign = Milestone.objects.filter(stage__process=other_process).first()
    before = state(world.opp)
    url = reverse("opportunities:milestone_toggle", args=[world.opp.pk, foreign.pk])
    assert client_for(owner).post(url, {"done": "on"}).status_code == 404
    assert state(world.opp) == before


def test_too_long_evidence_is_refused(client_for, owner, world):
    before = state(world.opp)
    response = client_for(owner).post(
        url_of("milestone_toggle", world), {"done": "on", "evidence": "x" * 501}, follow=True
    )
    assert "Evidence: Ensure this value has at most 500 characters" in text(response)
    assert state(world.opp) == before


# --- next steps ---------------------------------------------------------------------------------------------------


def test_next_step_set_replaces_the_open_one(client_for, owner, world):
    response = client_for(owner).post(url_of("next_step_set", world), valid_post("next_step_set", world), follow=True)
    assert "Next step committed." in text(response)
    steps = NextStep.objects.filter(opportunity=world.opp)
    assert steps.filter(completed_at__isnull=True).get().description == "Book the demo"
    assert steps.count() == 2


def test_waiting_on_the_buyer_is_a_next_step(client_for, owner, world):
    data = {"waiting_until": (world.today + 14 * DAY).isoformat()}
    assert client_for(owner).post(url_of("next_step_set", world), data).status_code == 302
    step = fresh(world.opp).next_step
    assert (step.kind, step.due_date) == ("waiting", world.today + 14 * DAY)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"description": "Call", "due_date": "2026-99-01"}, "Due: Enter a valid date."),
        ({"description": "Call", "due_date": "2026-03-01"}, "Due date cannot be before 2026-03-02."),
        ({"description": "Call"}, "Say what the next step is and when it is due"),
        ({"description": "Call", "due_date": "2026-03-09", "waiting_until": "2026-03-20"}, "not both"),
        ({"waiting_until": "2026-03-02"}, "Waiting until cannot be before 2026-03-03."),
    ],
)
@pytest.mark.parametrize("htmx", [False, True])
def test_next_step_set_refuses_bad_input(client_for, owner, world, data, message, htmx):
    before = state(world.opp)
    if htmx:
        response = client_for(owner).post(url_of("next_step_set", world), data, **HTMX)
        assert_partial(response)
    else:
        response = client_for(owner).post(url_of("next_step_set", world), data, follow=True)
    assert response.status_code == 200
    assert escape(message) in text(response)
    assert state(world.opp) == before


def test_complete_next_step_asks_for_the_next_one_in_the_same_form(client_for, owner, world):
    response = client_for(owner).get(url_of("next_step_complete", world))
    body = text(response)
    assert response.status_code == 200
    assert "Done with “Send proposal”. What is the next step?" in body
    form = body.split('class="card complete-step"')[1].split("</form>")[0]
    assert 'name="description"' in form and 'name="due_date"' in form and 'name="waiting_until"' in form


def test_complete_next_step_by_htmx_returns_the_form_partial(client_for, owner, world):
    response = client_for(owner).get(url_of("next_step_complete", world), **HTMX)
    assert response.status_code == 200
    assert_partial(response)
    assert 'class="card complete-step"' in text(response)


def test_completing_leaves_exactly_one_open_step(client_for, owner, world):
    response = client_for(owner).post(
        url_of("next_step_complete", world), valid_post("next_step_complete", world), follow=True
    )
    assert "Done — and the next step is committed." in text(response)
    open_steps = NextStep.objects.filter(opportunity=world.opp, completed_at__isnull=True)
    assert [s.description for s in open_steps] == ["Send the contract"]
    assert fresh(world.opp).next_step == open_steps.get()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Say what the next step is and when it is due, or until when you wait on the buyer."),
        ({"description": "Demo", "due_date": "soon"}, "Enter a valid date."),
        ({"description": "Demo", "due_date": "2026-01-01"}, "Due date cannot be before 2026-03-02."),
    ],
)
def test_completing_without_a_valid_next_step_keeps_the_current_one(client_for, owner, world, data, message):
    before = state(world.opp)
    response = client_for(owner).post(url_of("next_step_complete", world), data)
    assert response.status_code == 400
    assert escape(message) in text(response)
    assert 'class="card complete-step"' in text(response)
    assert state(world.opp) == before


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("create", "This field is required."),
        ("edit", "This field is required."),
        ("next_step_complete", "Say what the next step is and when it is due"),
        ("account_create", "This field is required."),
        ("account_edit", "This field is required."),
        ("contact_create", "This field is required."),
        ("contact_edit", "This field is required."),
    ],
)
def test_an_empty_post_is_validated_not_shown_as_a_fresh_form(client_for, owner, world, name, message):
    before = state(world.opp)
    response = client_for(owner).post(url_of(name, world), {})
    assert response.status_code == 400
    assert message in text(response)
    assert state(world.opp) == before


def test_complete_without_an_open_step_says_so(client_for, owner, opportunity):
    response = client_for(owner).get(reverse("opportunities:next_step_complete", args=[opportunity.pk]), follow=True)
    assert "There is no open next step to complete." in text(response)


# --- activities and buying team -------------------------------------------------------------------------------


def test_activity_with_contacts(client_for, owner, world):
    data = {
        "kind": "meeting",
        "subject": "Kick-off",
        "contacts": [world.contact.pk, world.second.pk],
        "occurred_at": "2026-03-01T09:30",
    }
    response = client_for(owner).post(url_of("activity_log", world), data, follow=True)
    assert "Activity logged." in text(response)
    activity = Activity.objects.get()
    assert set(activity.contacts.all()) == {world.contact, world.second}
    assert fresh(world.opp).last_activity_at == activity.occurred_at


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "bogus", "subject": "x"}, "Kind: Select a valid choice."),
        ({"kind": "call", "subject": ""}, "Subject: This field is required."),
        ({"kind": "call", "subject": "x", "occurred_at": "yesterday"}, "When: Enter a valid date/time."),
        (
            {"kind": "call", "subject": "x", "occurred_at": "2030-01-01T00:00"},
            "The activity&#x27;s date is not sensible.",
        ),
        ({"kind": "call", "subject": "x", "contacts": ["abc"]}, "Who took part: "),
        ({"kind": "call", "subject": "x", "contacts": ["STRANGER"]}, "Who took part: Select a valid choice."),
    ],
)
def test_activity_refuses_bad_input(client_for, owner, world, data, message):
    stranger = ContactFactory()
    data = {k: [stranger.pk] if v == ["STRANGER"] else v for k, v in data.items()}
    before = state(world.opp)
    response = client_for(owner).post(url_of("activity_log", world), data, follow=True)
    assert message in text(response)
    assert state(world.opp) == before


def test_buying_team_add_a_new_contact(client_for, owner, world):
    data = {
        "first_name": "Nina",
        "last_name": "New",
        "title": "CFO",
        "email": "nina@acme.example",
        "roles": ["economic_buyer", "decision_maker"],
    }
    response = client_for(owner).post(url_of("buying_team_add", world), data, follow=True)
    assert "Buying team updated." in text(response)
    contact = Contact.objects.get(last_name="New")
    assert contact.account == world.account
    assert BuyingTeamMember.objects.get(opportunity=world.opp, contact=contact).roles == [
        "economic_buyer",
        "decision_maker",
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"contact": "SECOND", "first_name": "Nina", "roles": ["user"]}, "not both"),
        ({"roles": ["user"]}, "Pick an existing contact or enter a new one."),
        ({"contact": "SECOND"}, "Roles: This field is required."),
        ({"contact": "SECOND", "roles": ["king"]}, "Roles: Select a valid choice."),
        ({"contact": "abc", "roles": ["user"]}, "Existing contact: Select a valid choice."),
        ({"contact": "STRANGER", "roles": ["user"]}, "Existing contact: Select a valid choice."),
        ({"first_name": "Nina", "last_name": "", "roles": ["user"]}, "Last name is required."),
        ({"first_name": "Nina", "last_name": "N", "email": "nope", "roles": ["user"]}, "Email: Enter a valid email"),
    ],
)
def test_buying_team_add_refuses_bad_input(client_for, owner, world, data, message):
    ids = {"SECOND": world.second.pk, "STRANGER": ContactFactory().pk}
    data = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in data.items()}
    before = state(world.opp)
    response = client_for(owner).post(url_of("buying_team_add", world), data, follow=True)
    assert escape(message) in text(response)
    assert state(world.opp) == before


def test_buying_team_remove_someone_not_on_it_says_so(client_for, owner, world):
    before = state(world.opp)
    url = reverse("opportunities:buying_team_remove", args=[world.opp.pk, world.second.pk])
    response = client_for(owner).post(url, follow=True)
    assert "Sam Second is not on the buying team." in text(response)
    assert state(world.opp) == before


def test_buying_team_remove_a_contact_of_another_account_is_404(client_for, owner, world):
    stranger = ContactFactory()
    url = reverse("opportunities:buying_team_remove", args=[world.opp.pk, stranger.pk])
    assert client_for(owner).post(url).status_code == 404


# --- accounts -----------------------------------------------------------------------------------------------------


def test_account_list_searches(client_for, owner, account):
    AccountFactory(name="Globex", owner=owner)
    AccountFactory(name="Initech", owner=owner)
    client = client_for(owner)
    response = client.get(reverse("opportunities:account_list"))
    assert response.status_code == 200
    names = re.findall(r'<a href="/accounts/\d+/">([^<]*)</a>', text(response))
    assert names == ["Acme Corp", "Globex", "Initech"]
    response = client.get(reverse("opportunities:account_list"), {"q": "glo"})
    assert re.findall(r'<a href="/accounts/\d+/">([^<]*)</a>', text(response)) == ["Globex"]
    assert 'value="glo"' in text(response)
    assert "No accounts match." in text(client.get(reverse("opportunities:account_list"), {"q": "zzz"}))


def test_account_list_paginates_and_keeps_the_search(client_for, owner):
    for i in range(30):
        AccountFactory(name=f"R&D Lab {i:02d}", owner=owner)
    AccountFactory(name="Unrelated", owner=owner)
    response = client_for(owner).get(reverse("opportunities:account_list"), {"q": "R&D", "per_page": 10, "page": 2})
    body = text(response)
    assert "Page 2 of 3 · 30 in all" in body
    assert escape("R&D Lab 10") in body
    links = re.findall(r'href="\?([^"]*)"', body)
    assert links
    for link in links:
        # the search survives into the page links, encoded: a raw "&" would cut it off
        assert "q=R%26D" in link and "per_page=10" in link


def test_account_list_bad_page_shows_a_real_page(client_for, owner):
    for i in range(12):
        AccountFactory(name=f"Account {i:02d}", owner=owner)
    response = client_for(owner).get(reverse("opportunities:account_list"), {"per_page": 10, "page": "x"})
    assert response.status_code == 200
    assert "Page 1 of 2" in text(response)


def test_account_create(client_for, owner):
    client = client_for(owner)
    assert client.get(reverse("opportunities:account_create")).status_code == 200
    response = client.post(
        reverse("opportunities:account_create"),
        {"name": "Hooli", "website": "hooli.example", "status": "prospect", "employee_band": "51-200"},
    )
    account = Account.objects.get(name="Hooli")
    assert response.status_code == 302
    assert response.url == reverse("opportunities:account_detail", args=[account.pk])
    assert (account.owner, account.website, account.status) == (owner, "https://hooli.example", "prospect")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "status": "target"}, "This field is required."),
        ({"name": "X", "status": "enemy"}, "Select a valid choice."),
        ({"name": "X", "status": "target", "employee_band": "lots"}, "Select a valid choice."),
        ({"name": "X", "status": "target", "website": "not a url"}, "Enter a valid URL."),
        ({"name": "X" * 201, "status": "target"}, "Ensure this value has at most 200 characters"),
    ],
)
def test_account_create_refuses_bad_input(client_for, owner, data, message):
    response = client_for(owner).post(reverse("opportunities:account_create"), data)
    assert response.status_code == 400
    assert message in text(response)
    assert not Account.objects.exists()


def test_account_names_are_escaped_everywhere(client_for, owner, process, now):
    client = client_for(owner)
    client.post(reverse("opportunities:account_create"), {"name": XSS, "status": "target"})
    account = Account.objects.get(name=XSS)
    ContactFactory(account=account, first_name=XSS, title=XSS)
    ActivityFactory(account=account, subject=XSS, notes=XSS, created_by=owner)
    OpportunityFactory(name=XSS, owner=owner, account=account, process=process, stage=process.stages.first())
    pages = [
        reverse("opportunities:account_list"),
        reverse("opportunities:account_detail", args=[account.pk]),
        reverse("opportunities:account_detail", args=[account.pk]) + "?contact_q=" + XSS,
        reverse("opportunities:account_activities", args=[account.pk]),
        reverse("opportunities:account_edit", args=[account.pk]),
        reverse("opportunities:contact_create", args=[account.pk]),
        reverse("opportunities:create") + f"?account={account.pk}",
        reverse("opportunities:my_deals"),
    ]
    for url in pages:
        body = text(client.get(url))
        assert escape(XSS) in body, url
        assert XSS not in body, url


def test_account_page_shows_contacts_deals_and_activities(client_for, owner, world, now):
    services.activity_log(actor=owner, account=world.account, kind="email", subject="Newsletter", now=now)
    services.activity_log(actor=owner, opportunity=world.opp, kind="call", subject="Deal call", now=now)
    response = client_for(owner).get(url_of("account_detail", world))
    body = text(response)
    assert response.status_code == 200
    assert "Carla Contact" in body and "Sam Second" in body
    assert f'<a href="/deals/{world.opp.pk}/">Acme rollout</a>' in body
    assert "Newsletter" in body and "Deal call" in body
    assert "Edit account" in body


def test_account_page_pages_deals_and_contacts_and_keeps_the_other_list(client_for, owner, world, process, now):
    for i in range(30):
        OpportunityFactory(
            name=f"Deal {i:02d}",
            owner=owner,
            account=world.account,
            process=process,
            stage=world.stages[0],
            expected_close_date=world.today + (i + 1) * DAY,
            status=OpportunityStatus.WON if i < 3 else OpportunityStatus.OPEN,
        )
        ContactFactory(account=world.account, first_name="Zoe", last_name=f"Zed {i:02d}")
    client = client_for(owner)
    url = url_of("account_detail", world)

    first = text(client.get(url))
    later = text(client.get(url, {"deals_page": 2, "contacts_page": 2}))

    # open deals first, by close date (Deal 29 closes on the same day as Acme rollout); then the closed ones
    assert deal_names_on(first) == [f"Deal {i:02d}" for i in range(3, 28)]
    assert deal_names_on(later) == ["Deal 28", "Acme rollout", "Deal 29", "Deal 00", "Deal 01", "Deal 02"]
    assert "Page 1 of 2 · 31 in all" in first  # deals
    assert "Page 1 of 2 · 32 in all" in first  # contacts
    # each contact's name links to their page
    people = re.findall(r'<li><a href="/contacts/\d+/"><strong>([^<]*)</strong></a>', later)
    assert people == [f"Zoe Zed {i:02d}" for i in range(23, 30)]  # after Carla Contact and Sam Second
    # each list's page links keep the other list's page, and land on their own list
    assert 'href="?contacts_page=2&amp;deals_page=1#deals"' in later
    assert 'href="?deals_page=2&amp;contacts_page=1#contacts"' in later
    assert 'aria-label="Pages of opportunities"' in later and 'aria-label="Pages of contacts"' in later
    assert_every_control_labelled(later)


def deal_names_on(body: str) -> list[str]:
    return re.findall(r'<tr><td><a href="/deals/\d+/">([^<]*)</a>', body)


def test_account_page_searches_its_contacts(client_for, owner, world):
    for i in range(30):
        ContactFactory(account=world.account, first_name="Zoe", last_name=f"Zed {i:02d}")
    client = client_for(owner)
    url = url_of("account_detail", world)
    assert 'name="contact_q"' in text(client.get(url))

    body = text(client.get(url, {"contact_q": "carla"}))

    assert re.findall(r'<li><a href="/contacts/\d+/"><strong>([^<]*)</strong></a>', body) == ["Carla Contact"]
    assert took_part(body) == ["Carla Contact"]
    assert "No contact matches" in text(client.get(url, {"contact_q": "nobody"}))


def test_account_page_shows_the_latest_activities_and_links_to_all(client_for, owner, world, now):
    for i in range(LATEST_SHOWN + 1):
        ActivityFactory(account=world.account, subject=f"Note {i:02d}", occurred_at=now - i * HOUR)
    body = text(client_for(owner).get(url_of("account_detail", world)))
    assert re.findall(r"<strong>(Note \d\d)</strong>", body) == [f"Note {i:02d}" for i in range(LATEST_SHOWN)]
    assert f'<a href="{url_of("account_activities", world)}">Show all activity</a>' in body


@pytest.mark.parametrize("reader", ["owner", "teammate", "outsider", "manager"])
def test_account_activity_list_shows_what_the_reader_may_see(request, client_for, owner, world, now, reader):
    for i in range(12):
        ActivityFactory(account=world.account, subject=f"Note {i:02d}", occurred_at=now - i * HOUR)
    services.activity_log(actor=owner, opportunity=world.opp, kind="call", subject="Deal call", now=now)
    client = client_for(request.getfixturevalue(reader))

    first = text(client.get(url_of("account_activities", world), {"per_page": 10}))
    second = text(client.get(url_of("account_activities", world), {"per_page": 10, "page": 2}))

    sees_deal = reader != "outsider"
    assert ("Deal call" in first) is sees_deal
    assert (f'<a href="/deals/{world.opp.pk}/">Acme rollout</a>' in first) is sees_deal
    notes = re.findall(r"<strong>(Note \d\d)</strong>", first + second)
    assert notes == [f"Note {i:02d}" for i in range(12)]
    assert f"Page 1 of 2 · {12 + sees_deal} in all" in first


@pytest.mark.parametrize("reader", ["teammate", "outsider", "manager"])
def test_accounts_are_company_knowledge_but_deals_stay_private(request, client_for, owner, world, now, reader):
    services.activity_log(actor=owner, account=world.account, kind="email", subject="Newsletter", now=now)
    services.activity_log(actor=owner, opportunity=world.opp, kind="call", subject="Deal call", now=now)
    response = client_for(request.getfixturevalue(reader)).get(url_of("account_detail", world))
    body = text(response)
    assert response.status_code == 200
    assert "Carla Contact" in body and "Newsletter" in body
    sees_deal = reader != "outsider"
    assert ("Acme rollout" in body) is sees_deal
    assert ("Deal call" in body) is sees_deal
    assert ("Edit account" in body) is (reader == "manager")


def test_account_edit(client_for, owner, account):
    response = client_for(owner).post(
        reverse("opportunities:account_edit", args=[account.pk]), {"name": "Acme Inc", "status": "customer"}
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.name, account.status) == ("Acme Inc", "customer")


@pytest.mark.parametrize("who", ["teammate", "outsider"])
def test_account_edit_by_a_rep_who_does_not_own_it_is_403(request, client_for, account, who):
    client = client_for(request.getfixturevalue(who))
    url = reverse("opportunities:account_edit", args=[account.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"name": "Hijacked", "status": "customer"}).status_code == 403
    account.refresh_from_db()
    assert account.name == "Acme Corp"


def test_manager_edits_an_account(client_for, manager, account):
    response = client_for(manager).post(
        reverse("opportunities:account_edit", args=[account.pk]), {"name": "Acme Inc", "status": "customer"}
    )
    assert response.status_code == 302
    assert Account.objects.get(pk=account.pk).name == "Acme Inc"


def test_missing_account_is_404(client_for, owner, db):
    for name in ("account_detail", "account_edit", "contact_create"):
        assert client_for(owner).get(reverse(f"opportunities:{name}", args=[999999])).status_code == 404
    assert (
        client_for(owner)
        .post(reverse("opportunities:account_activity_log", args=[999999]), {"kind": "call", "subject": "x"})
        .status_code
        == 404
    )


@pytest.mark.parametrize("who", ["owner", "teammate", "outsider"])
def test_anyone_logs_an_account_only_activity(request, client_for, account, contact, who):
    user = request.getfixturevalue(who)
    response = client_for(user).post(
        reverse("opportunities:account_activity_log", args=[account.pk]),
        {"kind": "email", "subject": "Intro", "contacts": [contact.pk]},
    )
    assert response.status_code == 302
    assert response.url == reverse("opportunities:account_detail", args=[account.pk])
    activity = Activity.objects.get()
    assert (activity.opportunity, activity.created_by, list(activity.contacts.all())) == (None, user, [contact])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "gossip", "subject": "x"}, "Kind: Select a valid choice."),
        ({"kind": "call", "subject": ""}, "Subject: This field is required."),
        ({"kind": "call", "subject": "x", "occurred_at": "1999-01-01T00:00"}, "date is not sensible"),
    ],
)
def test_account_activity_refuses_bad_input(client_for, owner, account, data, message):
    response = client_for(owner).post(
        reverse("opportunities:account_activity_log", args=[account.pk]), data, follow=True
    )
    assert message in text(response)
    assert not Activity.objects.exists()


@pytest.mark.parametrize("who", ["owner", "outsider"])
def test_anyone_adds_a_contact(request, client_for, account, who):
    client = client_for(request.getfixturevalue(who))
    url = reverse("opportunities:contact_create", args=[account.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"first_name": "Dana", "last_name": "Doe", "email": "dana@acme.example"})
    assert response.status_code == 302
    assert Contact.objects.get(last_name="Doe").account == account


def test_contact_create_refuses_bad_input(client_for, owner, account):
    url = reverse("opportunities:contact_create", args=[account.pk])
    response = client_for(owner).post(url, {"first_name": "Dana", "last_name": "", "email": "nope"})
    assert response.status_code == 400
    assert "Enter a valid email address." in text(response)
    assert not Contact.objects.exists()


def test_contact_edit(client_for, owner, contact):
    url = reverse("opportunities:contact_edit", args=[contact.pk])
    client = client_for(owner)
    assert 'value="Carla"' in text(client.get(url))
    response = client.post(url, {"first_name": "Carla", "last_name": "Contact", "title": "CTO"})
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.title == "CTO"


@pytest.mark.parametrize("who", ["teammate", "outsider"])
def test_contact_edit_by_a_rep_who_does_not_own_the_account_is_403(request, client_for, contact, who):
    client = client_for(request.getfixturevalue(who))
    url = reverse("opportunities:contact_edit", args=[contact.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"first_name": "Evil", "last_name": "Twin"}).status_code == 403
    contact.refresh_from_db()
    assert contact.first_name == "Carla"


def test_contact_edit_missing_is_404(client_for, owner, db):
    assert client_for(owner).get(reverse("opportunities:contact_edit", args=[999999])).status_code == 404


def test_inactive_user_is_not_offered_as_owner(client_for, manager, team, account, process):
    UserFactory(username="gone", first_name="Gone", last_name="Away", team=team, is_active=False)
    body = text(client_for(manager).get(reverse("opportunities:create")))
    assert "Gone Away" not in body
