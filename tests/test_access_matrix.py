"""Every route of every app, and what each persona gets from it.

`test_every_route_is_in_the_matrix` walks the URL resolver and fails for a route that has no entry
in ROUTES: a new URL gets one entry here, saying who may use it. Each entry is then requested
once by each persona (tests/conftest.py) on the owner's deal and its neighbours, and once with a
method the route does not take.

    anonymous  not signed in: pages send to the sign-in page (LOGIN), the API answers 403
    owner      a rep who owns the deal
    teammate   a rep of the owner's team: reads the deal, may not change it (403)
    outsider   a rep of another team: the deal does not exist for them (404)
    manager    manages the owner's team: reads and changes, may override and reopen
    admin      sees and changes everything

Writes are sent with an empty form: the point is who gets past the access rules, and an empty
form changes nothing (a 400 or the form again means "allowed in, input refused").
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from opportunities.models import Competitor
from pipeline.models import Notification
from tests.aids.world import aids_world
from tests.factories import ContactFactory
from tests.postmortem.world import accepted_review
from tests.roi.world import calculator_for
from transfer.models import ExportJob
from transfer.services import export_build, import_upload

PERSONAS = ("anonymous", "owner", "teammate", "outsider", "manager", "admin")


@dataclass(frozen=True)
class Route:
    """One route: how to build its URL from the fixtures (`w`), the method it takes, and the
    status each persona gets, in PERSONAS order. `wrong` is a method it refuses (405)."""

    url: Callable
    statuses: tuple[int | str, ...]
    method: str = "get"
    wrong: str | None = "delete"
    data: dict = field(default_factory=dict)


def page(name, *args):
    """A URL of the world's objects: `page("opportunities:detail", "opp")`."""
    return lambda w: reverse(name, args=[getattr(w, a) if isinstance(a, str) else a for a in args])


# Statuses per persona, in PERSONAS order: anonymous, owner, teammate, outsider, manager, admin.
# LOGIN is a redirect to the sign-in page; a plain 302 is the page's own redirect (a form posted
# without JavaScript comes back to the page, its error in a message).
LOGIN = "login"
EVERYONE = (LOGIN, 200, 200, 200, 200, 200)
API_EVERYONE = (403, 200, 200, 200, 200, 200)
DEAL_READ = (LOGIN, 200, 200, 404, 200, 200)
DEAL_EDIT_PAGE = (LOGIN, 200, 403, 404, 200, 200)
API_DEAL_READ = (403, 200, 200, 404, 200, 200)
# A write on the deal with an empty form, by whoever may change it: the input is refused.
DEAL_WRITE = (LOGIN, 302, 403, 404, 302, 302)
API_DEAL_WRITE = (403, 400, 403, 404, 400, 400)
SIGNED_IN_GO_ON = (200, 302, 302, 302, 302, 302)
ADMIN_ONLY = (LOGIN, 404, 404, 404, 404, 200)
# A write on the owner's account with an empty form: its owner, their manager and admins are let in.
ACCOUNT_WRITE = (LOGIN, 302, 403, 403, 302, 302)
API_ACCOUNT_WRITE = (403, 400, 403, 403, 400, 400)
# Configuration only admins change (sales processes): an empty new row is refused (400), an empty
# change of an existing one changes nothing (200).
API_ADMIN_WRITE = (403, 403, 403, 403, 403, 400)
API_ADMIN_CHANGE = (403, 403, 403, 403, 403, 200)
# The process editor's pages: everyone reads; an admin's empty form comes back as a message (302)
# or the form again (400, 200 for an edit page); anyone else may not change processes (403).
CONFIG_PAGE = (LOGIN, 403, 403, 403, 403, 200)
CONFIG_WRITE = (LOGIN, 403, 403, 403, 403, 302)

ROUTES: dict[str, Route] = {
    # --- project wiring and people ----------------------------------------------------------------
    "home": Route(page("home"), (LOGIN, 302, 302, 302, 302, 302)),
    "health": Route(page("health"), (200,) * 6, wrong="post"),
    "login": Route(page("login"), SIGNED_IN_GO_ON, wrong="put"),
    "logout": Route(page("logout"), (LOGIN, 302, 302, 302, 302, 302), method="post", wrong="get"),
    "admin/login/": Route(lambda w: "/admin/login/", SIGNED_IN_GO_ON, wrong="put"),
    # Your own account: everyone signed in has one.
    "profile": Route(page("profile"), EVERYONE),
    "password_change": Route(page("password_change"), EVERYONE),
    # Your own tokens: an empty form is refused (400); another's token, or none, is 404.
    "api_token_create": Route(page("api_token_create"), (LOGIN, 400, 400, 400, 400, 400), method="post", wrong="get"),
    "api_token_revoke": Route(
        page("api_token_revoke", 999999), (LOGIN, 404, 404, 404, 404, 404), method="post", wrong="get"
    ),
    "api_docs": Route(page("api_docs"), EVERYONE, wrong="post"),
    "api_redoc": Route(page("api_redoc"), EVERYONE, wrong="post"),
    "admin/password_change/": Route(lambda w: "/admin/password_change/", EVERYONE),
    # Resetting a forgotten password is for anyone, signed in or not; the link's token is checked
    # by the page (a wrong one is a page saying so, not an error).
    "password_reset": Route(page("password_reset"), (200,) * 6),
    "password_reset_done": Route(page("password_reset_done"), (200,) * 6, wrong="post"),
    "password_reset_confirm": Route(lambda w: reverse("password_reset_confirm", args=["MQ", "bad-token"]), (200,) * 6),
    "password_reset_complete": Route(page("password_reset_complete"), (200,) * 6, wrong="post"),
    # The admin site, every page of it (one entry): staff only. Visitors are sent to its sign-in;
    # a signed-in user who is not staff is refused (403), not sent round a sign-in loop.
    "admin:*": Route(page("admin:index"), (302, 403, 403, 403, 403, 200), wrong=None),
    # The API schema is for signed-in users; the API answers 403 to visitors.
    "api_schema": Route(page("api_schema"), (403, 200, 200, 200, 200, 200), wrong="post"),
    # --- stages: the sales-process editor ---------------------------------------------------------------
    "processes:list": Route(page("processes:list"), EVERYONE),
    "processes:list#post": Route(page("processes:list"), (LOGIN, 403, 403, 403, 403, 400), method="post"),
    "processes:detail": Route(page("processes:detail", "process_id"), EVERYONE),
    "processes:stage_add": Route(page("processes:stage_add", "process_id"), CONFIG_WRITE, method="post", wrong="get"),
    "processes:stage_edit": Route(page("processes:stage_edit", "stage_id"), CONFIG_PAGE),
    "processes:stage_move": Route(page("processes:stage_move", "stage_id"), CONFIG_WRITE, method="post", wrong="get"),
    # The world's stage holds the deal: removing it is refused with a message.
    "processes:stage_remove": Route(
        page("processes:stage_remove", "stage_id"), CONFIG_WRITE, method="post", wrong="get"
    ),
    "processes:milestone_add": Route(
        page("processes:milestone_add", "stage_id"), CONFIG_WRITE, method="post", wrong="get"
    ),
    "processes:milestone_edit": Route(page("processes:milestone_edit", "milestone"), CONFIG_PAGE),
    "processes:milestone_move": Route(
        page("processes:milestone_move", "milestone"), CONFIG_WRITE, method="post", wrong="get"
    ),
    "processes:milestone_remove": Route(
        page("processes:milestone_remove", "milestone"), CONFIG_WRITE, method="post", wrong="get"
    ),
    # --- opportunities: deals ------------------------------------------------------------------------
    "opportunities:my_deals": Route(page("opportunities:my_deals"), EVERYONE),
    "opportunities:create": Route(page("opportunities:create"), EVERYONE),
    "opportunities:detail": Route(page("opportunities:detail", "opp"), DEAL_READ),
    # A lazy panel, asked for without htmx, sends the reader to the page with the panel inline.
    "opportunities:panel": Route(
        lambda w: reverse("opportunities:panel", args=[w.opp, "lessons"]), (LOGIN, 302, 302, 404, 302, 302)
    ),
    "opportunities:edit": Route(page("opportunities:edit", "opp"), DEAL_EDIT_PAGE),
    "opportunities:move": Route(page("opportunities:move", "opp"), DEAL_WRITE, method="post", wrong="get"),
    "opportunities:close_won": Route(page("opportunities:close_won", "opp"), DEAL_WRITE, method="post", wrong="get"),
    "opportunities:close_lost": Route(page("opportunities:close_lost", "opp"), DEAL_WRITE, method="post", wrong="get"),
    # Reopening is for the deal's manager or an admin; its owner only once closed (the deal is open).
    "opportunities:reopen": Route(
        page("opportunities:reopen", "opp"), (LOGIN, 403, 403, 404, 302, 302), method="post", wrong="get"
    ),
    # Reassigning is for the deal's manager or an admin: the form page.
    "opportunities:reassign": Route(page("opportunities:reassign", "opp"), (LOGIN, 403, 403, 404, 200, 200)),
    # Bulk actions on the deals one may see; an empty selection goes back to the list, its error in a message.
    "opportunities:bulk": Route(
        page("opportunities:bulk"), (LOGIN, 302, 302, 302, 302, 302), method="post", wrong="get"
    ),
    "opportunities:milestone_toggle": Route(
        page("opportunities:milestone_toggle", "opp", "milestone"), DEAL_WRITE, method="post"
    ),
    "opportunities:next_step_set": Route(page("opportunities:next_step_set", "opp"), DEAL_WRITE, method="post"),
    # The completion page; the deal has no next step to complete, so it sends back to the deal.
    "opportunities:next_step_complete": Route(page("opportunities:next_step_complete", "opp"), DEAL_WRITE),
    "opportunities:activity_log": Route(page("opportunities:activity_log", "opp"), DEAL_WRITE, method="post"),
    "opportunities:activities": Route(page("opportunities:activities", "opp"), DEAL_READ),
    "opportunities:history": Route(page("opportunities:history", "opp"), DEAL_READ),
    "opportunities:buying_team_add": Route(page("opportunities:buying_team_add", "opp"), DEAL_WRITE, method="post"),
    "opportunities:buying_team_remove": Route(
        page("opportunities:buying_team_remove", "opp", "contact"), DEAL_WRITE, method="post", wrong="get"
    ),
    "opportunities:competitor_set": Route(page("opportunities:competitor_set", "opp"), DEAL_WRITE, method="post"),
    "opportunities:competitor_remove": Route(
        page("opportunities:competitor_remove", "opp", "competitor"), DEAL_WRITE, method="post", wrong="get"
    ),
    # --- opportunities: accounts and contacts (company knowledge: everyone reads) -----------------------
    "opportunities:account_list": Route(page("opportunities:account_list"), EVERYONE),
    "opportunities:account_create": Route(page("opportunities:account_create"), EVERYONE),
    # The account picker's type-ahead: each finds what they may read.
    "opportunities:account_search": Route(page("opportunities:account_search"), EVERYONE),
    "opportunities:account_detail": Route(page("opportunities:account_detail", "account"), EVERYONE),
    "opportunities:account_edit": Route(
        page("opportunities:account_edit", "account"), (LOGIN, 200, 403, 403, 200, 200)
    ),
    "opportunities:account_activity_log": Route(
        page("opportunities:account_activity_log", "account"), (LOGIN, 302, 302, 302, 302, 302), method="post"
    ),
    "opportunities:account_activities": Route(page("opportunities:account_activities", "account"), EVERYONE),
    "opportunities:account_history": Route(page("opportunities:account_history", "account"), EVERYONE),
    "opportunities:contact_create": Route(page("opportunities:contact_create", "account"), EVERYONE),
    # The account plan is its owner's (and their manager's) work, like the account's details:
    # readers get 403; an empty form is refused with a message back on the account page.
    "opportunities:account_plan_update": Route(
        page("opportunities:account_plan_update", "account"), ACCOUNT_WRITE, method="post", wrong="get"
    ),
    "opportunities:account_team_add": Route(
        page("opportunities:account_team_add", "account"), ACCOUNT_WRITE, method="post", wrong="get"
    ),
    "opportunities:account_team_remove": Route(
        page("opportunities:account_team_remove", "account", "contact"), ACCOUNT_WRITE, method="post", wrong="get"
    ),
    "opportunities:account_next_step_set": Route(
        page("opportunities:account_next_step_set", "account"), ACCOUNT_WRITE, method="post", wrong="get"
    ),
    "opportunities:account_next_step_complete": Route(
        page("opportunities:account_next_step_complete", "account"), ACCOUNT_WRITE, method="post", wrong="get"
    ),
    # Anyone who reads the account may open a deal on it, as on the New deal page.
    "opportunities:account_deal_create": Route(page("opportunities:account_deal_create", "account"), EVERYONE),
    # Contacts follow their account: with the default visibility everyone reads them.
    "opportunities:contact_list": Route(page("opportunities:contact_list"), EVERYONE),
    "opportunities:contact_detail": Route(page("opportunities:contact_detail", "contact"), EVERYONE),
    # The search finds only what each user may see; the page itself is everyone's.
    "opportunities:search": Route(page("opportunities:search"), EVERYONE),
    "opportunities:contact_edit": Route(
        page("opportunities:contact_edit", "contact"), (LOGIN, 200, 403, 403, 200, 200)
    ),
    # --- opportunities: the JSON API -------------------------------------------------------------------
    "api:opportunity_list": Route(page("api:opportunity_list"), API_EVERYONE),
    "api:opportunity_detail": Route(page("api:opportunity_detail", "opp"), API_DEAL_READ),
    "api:opportunity_move": Route(page("api:opportunity_move", "opp"), API_DEAL_WRITE, method="post", wrong="get"),
    "api:opportunity_close_won": Route(
        page("api:opportunity_close_won", "opp"), API_DEAL_WRITE, method="post", wrong="get"
    ),
    "api:opportunity_close_lost": Route(
        page("api:opportunity_close_lost", "opp"), API_DEAL_WRITE, method="post", wrong="get"
    ),
    # A rep may not reassign (403, by the service); an empty body is refused (400).
    "api:opportunity_reassign": Route(
        page("api:opportunity_reassign", "opp"), (403, 400, 403, 404, 400, 400), method="post", wrong="get"
    ),
    "api:opportunity_bulk": Route(
        page("api:opportunity_bulk"), (403, 400, 400, 400, 400, 400), method="post", wrong="get"
    ),
    "api:opportunity_reopen": Route(
        page("api:opportunity_reopen", "opp"), (403, 403, 403, 404, 400, 400), method="post", wrong="get"
    ),
    # POST ticks the milestone (201, the owner first); ticking a ticked one again is refused (400).
    "api:opportunity_milestone": Route(
        page("api:opportunity_milestone", "opp", "milestone"),
        (403, 201, 403, 404, 400, 400),
        method="post",
        wrong="get",
    ),
    "api:next_step_set": Route(page("api:next_step_set", "opp"), API_DEAL_WRITE, method="post"),
    "api:next_step_complete": Route(page("api:next_step_complete", "opp"), API_DEAL_WRITE, method="post"),
    "api:opportunity_events": Route(page("api:opportunity_events", "opp"), API_DEAL_READ),
    "api:opportunity_activities": Route(
        page("api:opportunity_activities", "opp"), API_DEAL_WRITE, method="post", wrong="put"
    ),
    "api:competitor_list": Route(page("api:competitor_list"), API_EVERYONE, wrong="post"),
    "api:opportunity_competitors": Route(page("api:opportunity_competitors", "opp"), API_DEAL_READ, wrong="put"),
    "api:opportunity_buying_team": Route(page("api:opportunity_buying_team", "opp"), API_DEAL_READ, wrong="put"),
    "api:account_list": Route(page("api:account_list"), API_EVERYONE),
    "api:account_detail": Route(page("api:account_detail", "account"), API_EVERYONE),
    "api:account_contacts": Route(page("api:account_contacts", "account"), API_EVERYONE),
    "api:account_events": Route(page("api:account_events", "account"), API_EVERYONE),
    "api:account_plan": Route(page("api:account_plan", "account"), API_EVERYONE),
    "api:account_team": Route(page("api:account_team", "account"), API_EVERYONE),
    # The world's contact is not on the account's team: removing it is refused (400).
    "api:account_team_member": Route(
        page("api:account_team_member", "account", "contact"), API_ACCOUNT_WRITE, method="delete", wrong="get"
    ),
    "api:account_next_step_set": Route(
        page("api:account_next_step_set", "account"), API_ACCOUNT_WRITE, method="post", wrong="get"
    ),
    "api:account_next_step_complete": Route(
        page("api:account_next_step_complete", "account"), API_ACCOUNT_WRITE, method="post", wrong="get"
    ),
    "api:contact_detail": Route(page("api:contact_detail", "contact"), API_EVERYONE),
    "api:search": Route(page("api:search"), API_EVERYONE, data={"q": "acme"}),
    # --- pipeline ---------------------------------------------------------------------------------------
    "board:index": Route(page("board:index"), EVERYONE),
    "board:process": Route(page("board:process", "process_id"), EVERYONE),
    "board:column": Route(page("board:column", "process_id", "stage_id"), EVERYONE),
    # An empty move names no card: none of the user's to move (404).
    "board:move": Route(page("board:move"), (LOGIN, 404, 404, 404, 404, 404), method="post", wrong="get"),
    "pipeline:needs_attention": Route(page("pipeline:needs_attention"), EVERYONE),
    "pipeline:notifications": Route(page("pipeline:notifications"), EVERYONE),
    # The owner's notification: nobody else's to read (404).
    "pipeline:notification_read": Route(
        page("pipeline:notification_read", "notification"), (LOGIN, 302, 404, 404, 404, 404), method="post", wrong="get"
    ),
    "pipeline:notifications_read_all": Route(
        page("pipeline:notifications_read_all"), (LOGIN, 302, 302, 302, 302, 302), method="post", wrong="get"
    ),
    "pipeline:dashboard": Route(page("pipeline:dashboard"), EVERYONE),
    "pipeline:quotas": Route(page("pipeline:quotas"), EVERYONE),
    # The owner's quota: their manager or an admin sets it; the owner may see it (403), others not (404).
    "pipeline:quota_set": Route(
        page("pipeline:quota_set", "owner_id"), (LOGIN, 403, 404, 404, 302, 302), method="post"
    ),
    "pipeline:changes": Route(page("pipeline:changes"), EVERYONE),
    # --- postmortem -------------------------------------------------------------------------------------
    # Each persona's own queue; the owner's accepted review, which teammates may read too.
    "postmortem:queue": Route(page("postmortem:queue"), EVERYONE),
    "postmortem:review": Route(page("postmortem:review", "review"), DEAL_READ),
    # The manager (or an admin) decides; an empty decision is refused with a message.
    "postmortem:review_decide": Route(
        page("postmortem:review_decide", "review"), (LOGIN, 403, 403, 404, 302, 302), method="post", wrong="get"
    ),
    "postmortem:review_close": Route(
        page("postmortem:review_close", "review"), (LOGIN, 403, 403, 404, 302, 302), method="post", wrong="get"
    ),
    "postmortem:lessons": Route(page("postmortem:lessons"), EVERYONE),
    # Whoever reads the lesson may endorse it (the owner is refused with a message: their own).
    "postmortem:lesson_endorse": Route(
        page("postmortem:lesson_endorse", "lesson"), (LOGIN, 302, 302, 404, 302, 302), method="post", wrong="get"
    ),
    "postmortem:lesson_retire": Route(
        page("postmortem:lesson_retire", "lesson"), (LOGIN, 403, 403, 404, 302, 302), method="post", wrong="get"
    ),
    "postmortem:winloss": Route(page("postmortem:winloss"), EVERYONE),
    # The review API, on the owner's accepted review: writing it is refused by its state (400) to
    # those allowed past the access rules; deciding is the manager's (who closes it: 200), then
    # the admin finds it closed (400).
    "postmortem_api:review_list": Route(page("postmortem_api:review_list"), API_EVERYONE),
    "pipeline_api:flag_list": Route(page("pipeline_api:flag_list"), API_EVERYONE),
    "pipeline_api:notification_list": Route(page("pipeline_api:notification_list"), API_EVERYONE),
    # The owner's notification: nobody else's to mark (404).
    "pipeline_api:notification_read": Route(
        page("pipeline_api:notification_read", "notification"),
        (403, 200, 404, 404, 404, 404),
        method="post",
        wrong="get",
    ),
    "pipeline_api:notification_read_all": Route(
        page("pipeline_api:notification_read_all"), API_EVERYONE, method="post", wrong="get"
    ),
    "pipeline_api:quota_list": Route(page("pipeline_api:quota_list"), API_EVERYONE),
    # The owner's quota: their manager and admins may set it (an empty body is refused: 400).
    "pipeline_api:quota_set": Route(
        page("pipeline_api:quota_set", "owner_id"), (403, 403, 404, 404, 400, 400), method="post", wrong="get"
    ),
    # Sales processes, their stages and milestones: everyone reads them, admins change them. Written
    # with an empty body, an admin's new process, stage or milestone has no name (400); an empty
    # change changes nothing (200); an empty order lists no stage (400).
    "pipeline_api:process_list": Route(page("pipeline_api:process_list"), API_EVERYONE),
    "pipeline_api:process_list#post": Route(page("pipeline_api:process_list"), API_ADMIN_WRITE, method="post"),
    "pipeline_api:process_detail": Route(page("pipeline_api:process_detail", "process_id"), API_EVERYONE),
    "pipeline_api:process_detail#patch": Route(
        page("pipeline_api:process_detail", "process_id"), API_ADMIN_CHANGE, method="patch"
    ),
    "pipeline_api:process_stages": Route(
        page("pipeline_api:process_stages", "process_id"), API_ADMIN_WRITE, method="post", wrong="get"
    ),
    "pipeline_api:process_stage_order": Route(
        page("pipeline_api:process_stage_order", "process_id"), API_ADMIN_WRITE, method="post", wrong="get"
    ),
    # DELETE removes a stage or a milestone, so a wrong method is PUT there. The world's stage holds
    # the deal (409 for an admin); its first milestone nobody ticked (deleted: 204).
    "pipeline_api:stage_detail": Route(page("pipeline_api:stage_detail", "stage_id"), API_EVERYONE, wrong="put"),
    "pipeline_api:stage_detail#delete": Route(
        page("pipeline_api:stage_detail", "stage_id"), (403, 403, 403, 403, 403, 409), method="delete", wrong=None
    ),
    "pipeline_api:stage_milestone_order": Route(
        page("pipeline_api:stage_milestone_order", "stage_id"), API_ADMIN_WRITE, method="post", wrong="get"
    ),
    "pipeline_api:stage_detail#patch": Route(
        page("pipeline_api:stage_detail", "stage_id"), API_ADMIN_CHANGE, method="patch", wrong="put"
    ),
    "pipeline_api:stage_milestones": Route(
        page("pipeline_api:stage_milestones", "stage_id"), API_ADMIN_WRITE, method="post", wrong="get"
    ),
    "pipeline_api:stage_milestone_detail": Route(
        page("pipeline_api:stage_milestone_detail", "stage_id", "milestone"), API_EVERYONE, wrong="put"
    ),
    "pipeline_api:stage_milestone_detail#delete": Route(
        page("pipeline_api:stage_milestone_detail", "stage_id", "milestone"),
        (403, 403, 403, 403, 403, 204),
        method="delete",
        wrong=None,
    ),
    "pipeline_api:stage_milestone_detail#patch": Route(
        page("pipeline_api:stage_milestone_detail", "stage_id", "milestone"),
        API_ADMIN_CHANGE,
        method="patch",
        wrong="put",
    ),
    "postmortem_api:review_detail": Route(page("postmortem_api:review_detail", "review"), API_DEAL_READ),
    "postmortem_api:review_submit": Route(
        page("postmortem_api:review_submit", "review"), (403, 400, 403, 404, 403, 400), method="post", wrong="get"
    ),
    "postmortem_api:review_request_changes": Route(
        page("postmortem_api:review_request_changes", "review"),
        (403, 403, 403, 404, 400, 400),
        method="post",
        wrong="get",
    ),
    "postmortem_api:review_accept": Route(
        page("postmortem_api:review_accept", "review"), (403, 403, 403, 404, 400, 400), method="post", wrong="get"
    ),
    "postmortem_api:review_close": Route(
        page("postmortem_api:review_close", "review"), (403, 403, 403, 404, 200, 400), method="post", wrong="get"
    ),
    "postmortem_api:deal_lessons": Route(page("postmortem_api:deal_lessons", "opp"), API_DEAL_READ, wrong="post"),
    "postmortem:winloss_deals": Route(page("postmortem:winloss_deals"), EVERYONE),
    # --- transfer: imports are an admin's tool; an import does not exist for anyone else -------------
    "transfer:imports": Route(page("transfer:imports"), (LOGIN, 403, 403, 403, 403, 200)),
    "transfer:detail": Route(page("transfer:detail", "import_job"), ADMIN_ONLY, wrong="post"),
    "transfer:map": Route(page("transfer:map", "import_job"), ADMIN_ONLY),
    "transfer:values": Route(page("transfer:values", "import_job"), ADMIN_ONLY),
    "transfer:preview": Route(page("transfer:preview", "import_job"), ADMIN_ONLY),
    "transfer:file": Route(page("transfer:file", "import_job"), ADMIN_ONLY, wrong="post"),
    "transfer_api:import_list": Route(page("transfer_api:import_list"), (403, 403, 403, 403, 403, 200)),
    "transfer_api:import_detail": Route(
        page("transfer_api:import_detail", "import_job"), (403, 404, 404, 404, 404, 200), wrong="post"
    ),
    # Committed with the suggested mapping: the admin's import goes in.
    "transfer_api:import_commit": Route(
        page("transfer_api:import_commit", "import_job"), (403, 404, 404, 404, 404, 200), method="post", wrong="get"
    ),
    # Everyone exports what they may read; a requested export comes back to the page.
    "transfer:exports": Route(page("transfer:exports"), EVERYONE),
    # The admin's own export: nobody else's to download.
    "transfer:export_file": Route(page("transfer:export_file", "export_job"), ADMIN_ONLY, wrong="post"),
    # Undo of an import not yet committed: refused with a message.
    "transfer:undo": Route(
        page("transfer:undo", "import_job"), (LOGIN, 404, 404, 404, 404, 302), method="post", wrong="get"
    ),
    # --- aids: the sales-aid library (everyone reads what is published; managers and admins curate) ----
    "aids:list": Route(page("aids:list"), EVERYONE),
    # Anyone may create: a rep's aid is a suggestion. The empty form is refused (400).
    "aids:create": Route(page("aids:create"), EVERYONE),
    "aids:detail": Route(page("aids:detail", "aid"), EVERYONE),
    # The world's aid is published: only curators edit it, add versions, publish or retire it.
    "aids:edit": Route(page("aids:edit", "aid"), (LOGIN, 403, 403, 403, 200, 200)),
    "aids:new_version": Route(page("aids:new_version", "aid"), (LOGIN, 403, 403, 403, 200, 200)),
    # Publishing a published aid is refused with a message, back on its page.
    "aids:publish": Route(page("aids:publish", "aid"), (LOGIN, 403, 403, 403, 302, 302), method="post", wrong="get"),
    "aids:retire": Route(page("aids:retire", "aid"), (LOGIN, 403, 403, 403, 302, 302), method="post", wrong="get"),
    # A version's file, only through this view, to whoever may see its aid.
    "aids:file": Route(page("aids:file", "aid_file"), EVERYONE, wrong="post"),
    # A draft's file is its author's and the curators'.
    "aids:file#draft": Route(page("aids:file", "draft_file"), (LOGIN, 200, 404, 404, 200, 200), wrong="post"),
    "aids:share": Route(page("aids:share", "opp"), DEAL_EDIT_PAGE),
    "aids:share#post": Route(page("aids:share", "opp"), (LOGIN, 400, 403, 404, 400, 400), method="post"),
    "aids:matrix": Route(page("aids:matrix", "opp"), DEAL_READ, wrong="post"),
    "aids:playbooks": Route(page("aids:playbooks"), EVERYONE, wrong="post"),
    "aids:playbook_edit": Route(page("aids:playbook_edit", "milestone"), (LOGIN, 403, 403, 403, 403, 200)),
    "aids:usage": Route(page("aids:usage"), (LOGIN, 403, 403, 403, 200, 200), wrong="post"),
    "aids_api:aid_list": Route(page("aids_api:aid_list"), API_EVERYONE, wrong="post"),
    "aids_api:aid_detail": Route(page("aids_api:aid_detail", "aid"), API_EVERYONE, wrong="post"),
    "aids_api:deal_shares": Route(page("aids_api:deal_shares", "opp"), API_DEAL_READ, wrong="put"),
    "aids_api:deal_shares#post": Route(page("aids_api:deal_shares", "opp"), API_DEAL_WRITE, method="post"),
    # --- recommendations: accept or dismiss one on a deal; the panel loads through opportunities:panel ----
    "recommendations:stats": Route(page("recommendations:stats"), (LOGIN, 403, 403, 403, 200, 200), wrong="post"),
    "recommendations_api:deal_recommendations": Route(
        page("recommendations_api:deal_recommendations", "opp"), API_DEAL_READ, wrong="post"
    ),
    "recommendations_api:recommendation_accept": Route(
        page("recommendations_api:recommendation_accept", "opp"), API_DEAL_WRITE, method="post", wrong="get"
    ),
    "recommendations_api:recommendation_dismiss": Route(
        page("recommendations_api:recommendation_dismiss", "opp"), API_DEAL_WRITE, method="post", wrong="get"
    ),
    "recommendations:accept": Route(page("recommendations:accept", "opp"), DEAL_WRITE, method="post", wrong="get"),
    "recommendations:dismiss": Route(page("recommendations:dismiss", "opp"), DEAL_WRITE, method="post", wrong="get"),
    # --- guidance: signals, the qualification checklist, Focus and the win model ----------------------
    "guidance:tick": Route(page("guidance:tick", "opp"), DEAL_WRITE, method="post", wrong="get"),
    "guidance:signals": Route(page("guidance:signals", "opp"), DEAL_READ),
    "guidance:focus": Route(page("guidance:focus"), EVERYONE),
    # A team's Focus and retraining the model are for managers and admins.
    "guidance:focus_team": Route(page("guidance:focus_team"), (LOGIN, 403, 403, 403, 200, 200)),
    "guidance:model": Route(page("guidance:model"), EVERYONE),
    "guidance:retrain": Route(page("guidance:retrain"), (LOGIN, 403, 403, 403, 302, 302), method="post", wrong="get"),
    "guidance_api:deal_signals": Route(page("guidance_api:deal_signals", "opp"), API_DEAL_READ, wrong="put"),
    "guidance_api:qualification_tick": Route(
        page("guidance_api:qualification_tick", "opp"), API_DEAL_WRITE, method="post", wrong="get"
    ),
    "guidance_api:focus": Route(page("guidance_api:focus"), API_EVERYONE, wrong="post"),
    # --- roi: the deal's ROI calculator ---------------------------------------------------------------
    # An empty form takes the inputs' defaults: saved, back to the deal.
    "roi:save": Route(page("roi:save", "opp"), DEAL_WRITE, method="post", wrong="get"),
    "roi:summary": Route(page("roi:summary", "opp", "roi_result"), DEAL_READ),
    # Sharing with nobody is refused, back to the summary with the reason.
    "roi:share": Route(page("roi:share", "opp", "roi_result"), DEAL_WRITE, method="post", wrong="get"),
    "roi_api:deal_roi": Route(page("roi_api:deal_roi", "opp"), API_DEAL_READ, wrong="put"),
}


def route_keys() -> set[str]:
    """Every route of the URLconf: its namespaced name, its pattern if unnamed; the admin's
    routes are one key, `admin:*`."""

    def walk(patterns, prefix="", namespace=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                inner = ":".join(n for n in (namespace, p.namespace) if n)
                yield from walk(p.url_patterns, prefix + str(p.pattern), inner)
            elif isinstance(p, URLPattern):
                name = p.name and (f"{namespace}:{p.name}" if namespace else p.name)
                yield "admin:*" if namespace == "admin" else (name or prefix + str(p.pattern))

    return set(walk(get_resolver().url_patterns))


def test_every_route_is_in_the_matrix():
    assert sorted(route_keys() - set(ROUTES)) == [], "add the new routes to ROUTES"
    # "name#what" is a second entry for the same route (another method or object).
    assert sorted({k.split("#")[0] for k in ROUTES} - route_keys()) == [], "ROUTES lists routes that no longer exist"


@pytest.fixture
def world(owner, manager, admin, opportunity, account, process, settings, tmp_path):
    """The objects the URLs point at: the owner's deal, its account, a contact on its buying team…"""
    contact = ContactFactory(account=account)
    settings.MEDIA_ROOT = str(tmp_path / "media")  # imported files, exports and the aids' uploads
    import_job = import_upload(
        actor=admin, kind="accounts", filename="a.csv", data=b"Name,Website\nGlobex,globex.example\n"
    )
    review = accepted_review(owner=owner, manager=manager, account=account, process=process)
    stage = process.stages.order_by("order").first()
    calculator = calculator_for(process)
    roi_result = calculator.results.create(
        opportunity=opportunity, values=[], formula="1", result_label="Saving", result=1, created_by=owner
    )
    return type(
        "World",
        (),
        {
            "opp": opportunity.pk,
            "account": account.pk,
            "contact": contact.pk,
            "milestone": stage.milestones.order_by("order").first().pk,
            "process_id": process.pk,
            "stage_id": stage.pk,
            "owner_id": owner.pk,
            "notification": Notification.objects.create(user=owner, message="Look").pk,
            # On the list, not in play on the deal: removing it is refused (nothing to remove).
            "competitor": Competitor.objects.create(name="Rival Inc").pk,
            "review": review.pk,
            "lesson": review.lessons.get().pk,
            "import_job": import_job.pk,
            "export_job": export_build(ExportJob.objects.create(created_by=admin)).pk,
            **aids_world(owner, manager),
            "roi_result": roi_result.pk,
        },
    )


@pytest.mark.parametrize("key", sorted(ROUTES))
def test_each_persona_gets_what_the_matrix_says(key, world, request, client_for):
    route = ROUTES[key]
    url = route.url(world)
    got = {}
    for persona in PERSONAS:
        client = Client() if persona == "anonymous" else client_for(request.getfixturevalue(persona))
        # A PATCH has no form encoding: its body is JSON.
        json_body = {"content_type": "application/json"} if route.method == "patch" else {}
        response = getattr(client, route.method)(url, route.data, **json_body)
        signing_in = response.status_code == 302 and response["Location"].startswith(reverse("login") + "?")
        got[persona] = LOGIN if signing_in else response.status_code
    assert got == dict(zip(PERSONAS, route.statuses, strict=True)), url
    if route.wrong:
        owner = client_for(request.getfixturevalue("owner"))
        assert getattr(owner, route.wrong)(url).status_code == 405, f"{route.wrong.upper()} {url}"
