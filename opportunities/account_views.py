"""Account management pages: the accounts list with health, and the account plan's writes
(objectives, the account-level buying team, the next step) and "new deal from this account".

Each write is a POST that redirects back to the account page's plan section (a refusal in a
message, nothing changed); the plan itself is shown by `views.account_detail`."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from . import services
from .accounts import COLD_DAYS, HEALTH_LABELS, TOUCH_DAYS
from .csv_export import accounts_csv_response
from .errors import DomainError
from .filters import AccountFilter
from .form_pages import form_page, refuse, show_form_problems
from .forms import AccountDealForm, AccountPlanForm, BuyingTeamForm, NextStepForm
from .models import Account, AccountContactRole
from .views import _account, _owner_choices, _page_size, _posted, _search_text


@require_http_methods(["GET"])
def account_list(request):
    """Accounts with their health (last touch, engaged contacts, open deals, won and lost, next
    step), filtered and sorted by any of them; a page costs the same queries however long."""
    now = timezone.now()
    q = _search_text(request, "q")
    # The search as cleaned (no NUL, no invisible characters), not as typed.
    data = request.GET.copy()
    if "q" in data:
        data["q"] = q
    filters = AccountFilter(data, request=request, now=now)
    accounts = filters.page_rows()
    if request.GET.get("format") == "csv":  # the list as filtered, every page
        return accounts_csv_response(accounts.iterator(chunk_size=2000))
    page = Paginator(accounts, _page_size(request)).get_page(request.GET.get("page"))
    today = timezone.localdate(now)
    for account in page:
        account.health_label = HEALTH_LABELS[account.health]
        due = account.next_step_due
        account.step_state = "none" if due is None else "overdue" if due < today else "later"
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "opportunities/account_list.html",
        {
            "form": filters.form,
            "q": q,
            "page": page,
            "query": query.urlencode(),
            "touch_days": TOUCH_DAYS,
            "cold_days": COLD_DAYS,
        },
    )


def _back_to_plan(account: Account):
    return redirect(reverse("opportunities:account_detail", args=[account.pk]) + "#plan")


def _write(request, account: Account, form, call, success: str):
    """Run `call(cleaned_data)` for a valid form; a refusal or bad input is a message. Back to the plan."""
    if form.is_valid():
        try:
            call(form.cleaned_data)
        except DomainError as exc:
            refuse(request, exc)
        else:
            messages.success(request, success)
    else:
        show_form_problems(request, form)
    return _back_to_plan(account)


@require_POST
def account_plan_update(request, pk: int):
    account = _account(request, pk, write=True)
    return _write(
        request,
        account,
        AccountPlanForm(request.POST),
        lambda data: services.account_plan_update(account, actor=request.user, objectives=data["objectives"]),
        "Objectives saved.",
    )


@require_POST
def account_team_add(request, pk: int):
    account = _account(request, pk, write=True)

    @transaction.atomic  # a new contact is only kept if it joins the team
    def add(data):
        contact = data["contact"] or services.contact_create(
            actor=request.user,
            account=account,
            **{f: data[f] for f in ("first_name", "last_name", "title", "email")},
        )
        services.account_team_add(account, actor=request.user, contact=contact, roles=data["roles"])

    return _write(request, account, BuyingTeamForm(request.POST, account=account), add, "Buying team updated.")


@require_POST
def account_team_remove(request, pk: int, contact_pk: int):
    account = _account(request, pk, write=True)
    contact = get_object_or_404(account.contacts.all(), pk=contact_pk)
    try:
        services.account_team_remove(account, actor=request.user, contact=contact)
    except DomainError as exc:
        refuse(request, exc)
    else:
        messages.success(request, f"Removed {contact} from the account's buying team.")
    return _back_to_plan(account)


@require_POST
def account_next_step_set(request, pk: int):
    account = _account(request, pk, write=True)
    return _write(
        request,
        account,
        NextStepForm(request.POST),
        lambda data: services.account_next_step_set(
            account,
            actor=request.user,
            description=data["description"],
            due_date=data["due_date"],
            waiting_until=data["waiting_until"],
        ),
        "Next step committed.",
    )


@require_POST
def account_next_step_complete(request, pk: int):
    account = _account(request, pk, write=True)
    return _write(
        request,
        account,
        NextStepForm(request.POST),
        lambda data: services.account_next_step_complete(
            account,
            actor=request.user,
            next_description=data["description"],
            next_due_date=data["due_date"],
            waiting_until=data["waiting_until"],
        ),
        "Done, and the following step is committed.",
    )


@require_http_methods(["GET", "POST"])
def account_deal_create(request, pk: int):
    """A new deal on the account whose buying team starts as the account's known buying team."""
    account = _account(request, pk)
    form = AccountDealForm(_posted(request), user=request.user, owner_choices=_owner_choices(request.user))

    def write(data):
        return services.opportunity_create_from_account(
            actor=request.user,
            account=account,
            process=data["process"],
            name=data["name"],
            amount=data["amount"],
            expected_close_date=data["expected_close_date"],
            owner=data.get("owner") or request.user,
            source=data["source"],
            next_step_description=data["next_step_description"],
            next_step_due_date=data["next_step_due_date"],
        )

    team = list(AccountContactRole.objects.filter(account=account).select_related("contact"))
    return form_page(
        request,
        form,
        write=write,
        done=lambda opp: (f"Created “{opp.name}”.", redirect("opportunities:detail", pk=opp.pk)),
        template="opportunities/account_deal_form.html",
        context={"account": account, "account_team": team},
    )
