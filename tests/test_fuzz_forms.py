"""Property-based tests: every HTML form and filter, fed generated values by a signed-in rep,
answers without a 5xx; a refused submission, and every GET, changes nothing; no name is stored
with an invisible character.

The endpoints are listed by hand with the forms they bind, and two tests keep the list whole:
every form class in the code and every page URL must appear in it.
"""

import inspect
from dataclasses import dataclass, field

import pytest
from django import forms
from django.urls import get_resolver, reverse
from hypothesis import example, given
from hypothesis import strategies as st

import aids.forms
import opportunities.forms
import people.forms
import people.views
import pipeline.board.views
import pipeline.health.forms
import pipeline.health.views
import pipeline.notify.views
import pipeline.processes.forms
import pipeline.reports.changes_views
import pipeline.reports.forms
import pipeline.reports.views
import pipeline.views
import postmortem.forms
import postmortem.views
import postmortem.winloss
import recommendations.forms
from aids.forms import AidCreateForm, AidTagsForm, LibraryFilterForm, PlaybookForm, ShareForm, VersionForm
from opportunities.filters import AccountFilter, DealFilter
from opportunities.forms import (
    AccountDealForm,
    AccountForm,
    AccountPlanForm,
    ActivityForm,
    BulkActionForm,
    BuyingTeamForm,
    CloseLostForm,
    CloseWonForm,
    CompleteStepForm,
    ContactForm,
    DealCompetitorForm,
    MilestoneToggleForm,
    MoveForm,
    NextStepForm,
    OpportunityEditForm,
    OpportunityForm,
    ReassignForm,
    ReopenForm,
)
from people.forms import ApiTokenForm
from pipeline.board.views import BoardFilterForm
from pipeline.health.forms import AttentionFilterForm
from pipeline.processes.forms import DirectionForm, MilestoneForm, ProcessForm, StageAddForm, StageForm
from pipeline.reports.changes_views import ChangesFilterForm
from pipeline.reports.forms import DashboardFilterForm, QuotaForm, QuotaQuarterForm
from postmortem.forms import DecideForm, QueueFilterForm, ReviewForm
from postmortem.winloss import ALL_DIMENSIONS, WinLossFilterForm
from recommendations.forms import AcceptForm, DismissForm
from tests.fuzzing import FUZZ, HUGE, check_request, edge_form_data, form_data, resolve


@dataclass(frozen=True)
class Endpoint:
    url_name: str
    method: str
    args: tuple = ()
    forms: tuple = ()
    extra: tuple = ()  # inputs read outside the forms: pages, offsets, anchors, fields added in __init__
    choices: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def id(self) -> str:
        return f"{self.method} {self.url_name}"

    def fields(self) -> tuple[list, dict]:
        names, choices = {}, {}
        for form_class in self.forms:
            for name, form_field in form_class.base_fields.items():
                names[name] = None
                if isinstance(form_field, forms.ChoiceField) and not isinstance(form_field, forms.ModelChoiceField):
                    choices[name] = [str(value) for value, _ in form_field.choices if value != ""]
                elif isinstance(form_field, forms.BooleanField):
                    choices[name] = ["on", "true", "false"]
        for name in self.extra:
            names[name] = None
        return list(names), {**choices, **self.choices}


DEAL, ACCOUNT = ("@deal",), ("@account",)
# The review form's lessons formset: its management form and the fields of its first row.
LESSON_FIELDS = (
    "submit",
    "lessons-TOTAL_FORMS",
    "lessons-INITIAL_FORMS",
    "lessons-0-text",
    "lessons-0-stage",
    "lessons-0-milestone",
    "lessons-0-industry",
    "lessons-0-competitor",
    "lessons-0-buying_role",
)
PAGES = ("page", "per_page")
STEPS = ["activity:reference_call", "activity:demo", "milestone:1"]
ENDPOINTS = [
    # opportunities
    Endpoint("opportunities:my_deals", "GET", forms=(DealFilter.form_class(),), extra=PAGES),
    Endpoint("opportunities:account_list", "GET", forms=(AccountFilter.form_class(),), extra=PAGES),
    Endpoint("opportunities:account_search", "GET", extra=("q", "account_q")),
    Endpoint("opportunities:create", "GET", extra=("account",)),
    Endpoint("opportunities:create", "POST", forms=(OpportunityForm,)),
    Endpoint("opportunities:detail", "GET", DEAL, extra=("contact_q",)),
    Endpoint("opportunities:panel", "GET", ("@deal", "lessons")),
    Endpoint("opportunities:panel", "GET", ("@deal", "for-this-step")),
    Endpoint("opportunities:edit", "POST", DEAL, forms=(OpportunityEditForm,)),
    Endpoint("opportunities:edit", "GET", DEAL, extra=("account_q",)),
    Endpoint("opportunities:move", "POST", DEAL, forms=(MoveForm,), extra=("anchor",)),
    Endpoint(
        "opportunities:close_won",
        "POST",
        DEAL,
        forms=(CloseWonForm,),
        extra=("anchor",),
        choices={"beaten": ["@competitor"]},
    ),
    Endpoint(
        "opportunities:close_lost",
        "POST",
        DEAL,
        forms=(CloseLostForm,),
        extra=("anchor",),
        choices={"lost_to": ["@competitor"]},
    ),
    Endpoint("opportunities:reopen", "POST", DEAL, forms=(ReopenForm,)),
    Endpoint("opportunities:reassign", "POST", DEAL, forms=(ReassignForm,)),
    Endpoint("opportunities:bulk", "POST", forms=(BulkActionForm,)),
    Endpoint("opportunities:milestone_toggle", "POST", ("@deal", "@milestone"), forms=(MilestoneToggleForm,)),
    Endpoint("opportunities:next_step_set", "POST", DEAL, forms=(NextStepForm,), extra=("anchor",)),
    Endpoint("opportunities:next_step_complete", "POST", DEAL, forms=(CompleteStepForm,)),
    Endpoint("opportunities:activity_log", "POST", DEAL, forms=(ActivityForm,), extra=("anchor",)),
    Endpoint("opportunities:activities", "GET", DEAL, extra=PAGES),
    Endpoint("opportunities:history", "GET", DEAL, extra=PAGES),
    Endpoint("opportunities:buying_team_add", "POST", DEAL, forms=(BuyingTeamForm,), extra=("anchor",)),
    Endpoint("opportunities:buying_team_remove", "POST", ("@deal", "@contact"), extra=("anchor",)),
    Endpoint(
        "opportunities:competitor_set",
        "POST",
        DEAL,
        forms=(DealCompetitorForm,),
        extra=("anchor",),
        choices={"competitor": ["@competitor"]},
    ),
    Endpoint("opportunities:competitor_remove", "POST", ("@deal", "@competitor"), extra=("anchor",)),
    Endpoint("opportunities:account_create", "POST", forms=(AccountForm,)),
    Endpoint("opportunities:account_detail", "GET", ACCOUNT, extra=("deals_page", "contacts_page", "contact_q")),
    Endpoint("opportunities:account_edit", "POST", ACCOUNT, forms=(AccountForm,)),
    Endpoint("opportunities:account_activity_log", "POST", ACCOUNT, forms=(ActivityForm,)),
    Endpoint("opportunities:account_activities", "GET", ACCOUNT, extra=PAGES),
    Endpoint("opportunities:contact_create", "POST", ACCOUNT, forms=(ContactForm,)),
    Endpoint("opportunities:contact_edit", "POST", ("@contact",), forms=(ContactForm,)),
    Endpoint("opportunities:account_history", "GET", ACCOUNT, extra=PAGES),
    Endpoint("opportunities:account_plan_update", "POST", ACCOUNT, forms=(AccountPlanForm,)),
    Endpoint("opportunities:account_team_add", "POST", ACCOUNT, forms=(BuyingTeamForm,)),
    Endpoint("opportunities:account_team_remove", "POST", ("@account", "@contact")),
    Endpoint("opportunities:account_next_step_set", "POST", ACCOUNT, forms=(NextStepForm,)),
    Endpoint("opportunities:account_next_step_complete", "POST", ACCOUNT, forms=(NextStepForm,)),
    Endpoint("opportunities:account_deal_create", "POST", ACCOUNT, forms=(AccountDealForm,)),
    Endpoint("opportunities:contact_list", "GET", extra=("q", *PAGES)),
    Endpoint("opportunities:contact_detail", "GET", ("@contact",)),
    Endpoint(
        "opportunities:search",
        "GET",
        extra=("q", "kind", *PAGES),
        choices={"kind": ["deals", "accounts", "contacts", "people"]},
    ),
    # people
    Endpoint("profile", "GET"),
    Endpoint("api_token_create", "POST", forms=(ApiTokenForm,)),
    Endpoint("api_token_revoke", "POST", ("@me",)),
    Endpoint("api_docs", "GET"),
    Endpoint("api_redoc", "GET"),
    # pipeline
    Endpoint("pipeline:needs_attention", "GET", forms=(AttentionFilterForm,), extra=("page",)),
    Endpoint("pipeline:notifications", "GET", extra=("page",)),
    Endpoint("pipeline:notification_read", "POST", ("@deal",), extra=("next",)),
    Endpoint("pipeline:notifications_read_all", "POST", extra=("next",)),
    Endpoint(
        "pipeline:dashboard",
        "GET",
        forms=(DashboardFilterForm,),
        extra=("format", "table"),
        choices={"format": ["csv"], "table": ["by_stage", "by_owner", "forecast", "nope"], "process": ["@process"]},
    ),
    Endpoint("pipeline:quotas", "GET", forms=(QuotaQuarterForm,)),
    Endpoint("pipeline:quota_set", "POST", ("@me",), forms=(QuotaForm,)),
    Endpoint("pipeline:changes", "GET", forms=(ChangesFilterForm,), extra=("from", "to", "page")),
    # postmortem
    Endpoint("postmortem:queue", "GET", forms=(QueueFilterForm,), extra=("page",)),
    Endpoint("postmortem:review", "GET", ("@review",)),
    Endpoint(
        "postmortem:review",
        "POST",
        ("@draft_review",),
        forms=(ReviewForm,),
        extra=LESSON_FIELDS,
        choices={"lessons-TOTAL_FORMS": ["1", "2", "0", "999"], "lessons-INITIAL_FORMS": ["0", "1"]},
    ),
    Endpoint("postmortem:review_decide", "POST", ("@review",), forms=(DecideForm,)),
    Endpoint("postmortem:review_close", "POST", ("@review",)),
    Endpoint("postmortem:lessons", "GET", extra=("page",)),
    Endpoint("postmortem:lesson_endorse", "POST", ("@lesson",), extra=("next",)),
    Endpoint("postmortem:lesson_retire", "POST", ("@lesson",), extra=("next",)),
    Endpoint("postmortem:winloss", "GET", forms=(WinLossFilterForm,), extra=("format",), choices={"format": ["csv"]}),
    Endpoint(
        "postmortem:winloss_deals",
        "GET",
        forms=(WinLossFilterForm,),
        extra=("outcome", "page", *ALL_DIMENSIONS),
        choices={"outcome": ["won", "lost"], "quarter": ["2026-Q1", "2026-Q9"], "reason": ["none", "1"]},
    ),
    # aids
    Endpoint("aids:list", "GET", forms=(LibraryFilterForm,), extra=("page",)),
    Endpoint("aids:create", "POST", forms=(AidCreateForm,)),
    Endpoint("aids:detail", "GET", ("@aid",)),
    Endpoint("aids:edit", "POST", ("@own_aid",), forms=(AidTagsForm,), choices={"stages": ["@stage"]}),
    Endpoint("aids:new_version", "POST", ("@own_aid",), forms=(VersionForm,)),
    Endpoint("aids:publish", "POST", ("@own_aid",)),
    Endpoint("aids:retire", "POST", ("@aid",)),
    Endpoint("aids:share", "GET", DEAL, extra=("aid", "role", "contact"), choices={"aid": ["@aid"]}),
    Endpoint("aids:share", "POST", DEAL, forms=(ShareForm,), choices={"aid": ["@aid"], "contacts": ["@contact"]}),
    Endpoint("aids:matrix", "GET", DEAL),
    Endpoint("aids:playbooks", "GET"),
    Endpoint("aids:playbook_edit", "POST", ("@milestone",), forms=(PlaybookForm,)),
    Endpoint("aids:usage", "GET"),
    # recommendations
    Endpoint("recommendations:stats", "GET"),
    Endpoint("recommendations:accept", "POST", DEAL, forms=(AcceptForm,), choices={"step": STEPS}),
    Endpoint("recommendations:dismiss", "POST", DEAL, forms=(DismissForm,), choices={"step": STEPS}),
    # roi: the calculator's inputs (the test world's calculator), the summary, the share
    Endpoint("roi:save", "POST", DEAL, extra=("seats", "hours", "rate", "licence")),
    Endpoint("roi:summary", "GET", (*DEAL, "@roi_result")),
    Endpoint("roi:share", "POST", (*DEAL, "@roi_result"), extra=("contacts", "note")),
    # guidance: the qualification checklist, a deal's signals, Focus and the win model
    Endpoint("guidance:tick", "POST", DEAL, extra=("item", "ticked")),
    Endpoint("guidance:signals", "GET", DEAL),
    Endpoint("guidance:focus", "GET"),
    Endpoint("guidance:focus_team", "GET"),
    Endpoint("guidance:model", "GET"),
    Endpoint("guidance:retrain", "POST"),
    # the process editor (as an admin, who gets past the door, in tests/pipeline/processes/test_views.py)
    Endpoint("processes:list", "GET"),
    Endpoint("processes:list", "POST", forms=(ProcessForm,)),
    Endpoint("processes:detail", "GET", ("@process",)),
    Endpoint("processes:stage_add", "POST", ("@process",), forms=(StageAddForm,)),
    Endpoint("processes:stage_edit", "POST", ("@stage",), forms=(StageForm,)),
    Endpoint("processes:stage_move", "POST", ("@stage",), forms=(DirectionForm,)),
    Endpoint("processes:stage_remove", "POST", ("@stage",)),
    Endpoint("processes:milestone_add", "POST", ("@stage",), forms=(MilestoneForm,)),
    Endpoint("processes:milestone_edit", "POST", ("@milestone",), forms=(MilestoneForm,)),
    Endpoint("processes:milestone_move", "POST", ("@milestone",), forms=(DirectionForm,)),
    Endpoint("processes:milestone_remove", "POST", ("@milestone",)),
    # the board
    Endpoint("board:index", "GET", forms=(BoardFilterForm,)),
    Endpoint("board:process", "GET", ("@process",), forms=(BoardFilterForm,)),
    Endpoint("board:column", "GET", ("@process", "@stage"), forms=(BoardFilterForm,), extra=("offset",)),
    Endpoint("board:move", "POST", forms=(BoardFilterForm,), extra=("opportunity", "to_stage", "version", "anchor")),
]

# Forms no signed-in rep submits to a page of this list, and why.
NOT_FUZZED_HERE = {
    "SignInForm": "the sign-in form: anonymous, throttled, tested with the sign-in",
    "PasswordChangeForm": "every wrong old password is a recorded, throttled failure; tested in tests/people",
    "ContentForm": "a base of AidCreateForm and VersionForm, fuzzed through them",
    "LessonForm": "a row of the review's lessons formset: fuzzed by its prefixed fields (LESSON_FIELDS)",
}
# Pages outside this list, and why.
URLS_NOT_FUZZED_HERE = {
    "home": "a redirect",
    "login": "the sign-in page: anonymous, throttled, tested with the sign-in",
    "logout": "ends the session the fuzzing runs in",
    "health": "takes no input",
    "api_schema": "the API is fuzzed in tests/opportunities/test_api_fuzz.py",
    **{
        f"pipeline_api:{name}": "the API is fuzzed in tests/opportunities/test_api_fuzz.py (and as an admin, the "
        "process writes, in tests/stages/test_api.py)"
        for name in (
            "flag_list",
            "notification_list",
            "notification_read",
            "notification_read_all",
            "quota_list",
            "quota_set",
            "process_list",
            "process_detail",
            "process_stages",
            "process_stage_order",
            "stage_detail",
            "stage_milestones",
            "stage_milestone_order",
            "stage_milestone_detail",
        )
    },
    **{
        f"postmortem_api:{name}": "the post-mortem API: its input is checked in tests/postmortem/test_api.py"
        for name in (
            "review_list",
            "review_detail",
            "review_submit",
            "review_request_changes",
            "review_accept",
            "review_close",
            "deal_lessons",
        )
    },
    **{
        f"transfer:{name}": "the import steps (admins only): their bad input is tested in tests/transfer"
        for name in ("imports", "detail", "map", "values", "preview", "undo", "file", "exports", "export_file")
    },
    **{
        f"transfer_api:{name}": "the import API: its input is checked in tests/transfer/test_api.py"
        for name in ("import_list", "import_detail", "import_commit")
    },
    "aids:file": "takes no input but the version's id; its access is tested in tests/aids/test_views.py",
    **{
        f"aids_api:{name}": "the sales-aid API: its input is checked in tests/aids/test_views.py"
        for name in ("aid_list", "aid_detail", "deal_shares")
    },
    **{
        f"recommendations_api:{name}": "the recommendations API: its input is checked in "
        "tests/recommendations/test_api.py"
        for name in ("deal_recommendations", "recommendation_accept", "recommendation_dismiss")
    },
    **{
        f"guidance_api:{name}": "the guided-selling API: its input is checked in tests/guidance/test_api.py"
        for name in ("deal_signals", "qualification_tick", "focus")
    },
    "roi_api:deal_roi": "the ROI API: its input is checked in tests/roi/test_roi.py",
    "password_change": "every wrong old password is a recorded, throttled failure; tested in tests/people",
    "password_reset": "anonymous; sends mail; tested in tests/people",
    "password_reset_done": "anonymous; takes no input",
    "password_reset_confirm": "anonymous; the token is checked by Django; tested in tests/people",
    "password_reset_complete": "anonymous; takes no input",
}


def path_args(endpoint: Endpoint) -> st.SearchStrategy:
    """The URL's own ids: mostly the rep's rows, sometimes someone else's or none at all."""
    if not endpoint.args:
        return st.just(())
    first = st.sampled_from([endpoint.args[0]] * 4 + ["@other_deal", "@other_account", str(HUGE), str(2**63), "0"])
    return st.tuples(first, *(st.just(arg) for arg in endpoint.args[1:]))


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.id)
def test_no_form_input_fails_or_half_changes_anything(endpoint, world, client_for, owner):
    names, choices = endpoint.fields()

    def submit(args, data, htmx):
        client = client_for(owner)  # a fresh one: no message of an earlier example is left over
        url = reverse(endpoint.url_name, args=resolve(list(args), world))
        data = resolve(data, world)
        headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
        send = client.get if endpoint.method == "GET" else client.post
        check_request(lambda: send(url, data, **headers), writes=endpoint.method == "POST")

    test = given(args=path_args(endpoint), data=form_data(names, choices), htmx=st.booleans())(submit)
    for data in edge_form_data(names):
        test = example(args=endpoint.args, data=data, htmx=False)(test)
    FUZZ(test)()


def _form_classes(module) -> set[str]:
    return {
        name
        for name, value in inspect.getmembers(module, inspect.isclass)
        if issubclass(value, forms.BaseForm) and value.__module__ == module.__name__
    }


def test_every_form_in_the_code_is_fuzzed():
    modules = (
        opportunities.forms,
        people.forms,
        people.views,
        pipeline.views,
        pipeline.board.views,
        pipeline.health.forms,
        pipeline.health.views,
        pipeline.notify.views,
        pipeline.reports.changes_views,
        pipeline.reports.forms,
        pipeline.reports.views,
        postmortem.forms,
        postmortem.views,
        postmortem.winloss,
        aids.forms,
        recommendations.forms,
        pipeline.processes.forms,
    )
    in_code = set().union(*(_form_classes(module) for module in modules))
    fuzzed = {form_class.__name__ for endpoint in ENDPOINTS for form_class in endpoint.forms}
    assert in_code - fuzzed == set(NOT_FUZZED_HERE)


def test_every_page_is_fuzzed():
    names = set()
    for pattern in get_resolver().url_patterns:
        namespace = getattr(pattern, "namespace", None)
        if namespace in ("admin", "api"):
            continue
        for sub in getattr(pattern, "url_patterns", [pattern]):
            if getattr(sub, "name", None):
                names.add(f"{namespace}:{sub.name}" if namespace else sub.name)
    fuzzed = {endpoint.url_name for endpoint in ENDPOINTS}
    assert names - fuzzed == set(URLS_NOT_FUZZED_HERE)
