"""The lists' filters and orders, one `FilterSet` per list, read by its HTML page and its API list.

Each FilterSet starts from what the user may read (`for_user`), never from a wider queryset, and
owns the list's rules once: what each filter selects, the sort orders and the defaults. The two
interfaces differ only in a few parameter names, kept for the links and scripts that use them:
the page sorts with `sort` and scopes with `scope` (mine, or all I can see), the API orders with
`ordering` and narrows to the caller's deals with `owner=me`. `interface=` picks the names; the
other interface's are dropped, so the page's form renders only its own fields.

Invalid input selects nothing: the page shows the form's errors over an empty list, the API
answers 400 with them (`valid_or_400`).
"""

import copy
import datetime as dt
import functools

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import F, Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError

from stages.models import SalesProcess, Stage

from .accounts import COLD_DAYS, HEALTH_BY_NAME, HEALTH_CHOICES, TOUCH_DAYS, with_health
from .forms import MonthSelect
from .hooks import deal_sorts
from .models import Account, Contact, Opportunity, OpportunityStatus

HTML, API = "html", "api"


class StageField(django_filters.fields.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.process.name} · {obj.name}"


class MonthField(forms.CharField):
    """A month as `2026-03`, cleaned to `(2026, 3)`."""

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        try:
            year, month = (int(part) for part in value.split("-"))
            if not (2000 <= year <= 2100 and 1 <= month <= 12):
                raise ValueError
        except ValueError:
            raise forms.ValidationError("Close month must look like 2026-03.") from None
        return year, month


class StageFilter(django_filters.ModelChoiceFilter):
    field_class = StageField


class MonthFilter(django_filters.CharFilter):
    field_class = MonthField


class CheckboxFilter(django_filters.Filter):
    """A checkbox: ticked selects, unticked (or absent) leaves the list whole."""

    field_class = forms.BooleanField


class ListFilterSet(django_filters.FilterSet):
    """A list's filters for one interface; `SORTS` maps each sort key to its `order_by`."""

    SORTS: dict = {}
    SORT_LABELS: dict = {}
    DEFAULT_SORT = ""
    # The filters only the page (or only the API) reads; every other one both do.
    ONLY = {HTML: (), API: ()}
    # What the API's schema says of each parameter (the page's form shows its labels alone).
    DESCRIPTIONS: dict = {}

    def __init__(self, data, *, request, interface: str = HTML):
        self.user = request.user
        self.interface = interface
        super().__init__(data, queryset=self.visible(), request=request)
        other = API if interface == HTML else HTML
        for name in self.ONLY[other]:
            del self.filters[name]

    def visible(self):
        """The rows the user may read: the list never starts from more."""
        raise NotImplementedError

    @property
    def current_sort(self) -> str:
        """The sort in force (the default when none was given or the input is invalid)."""
        name = "sort" if self.interface == HTML else "ordering"
        if not self.is_bound or not self.form.is_valid():
            return self.DEFAULT_SORT
        return self.form.cleaned_data.get(name) or self.DEFAULT_SORT

    @classmethod
    def sorts(cls) -> dict:
        """Each sort key's `order_by` terms."""
        return cls.SORTS

    @classmethod
    def sort_labels(cls) -> dict:
        """Each sort key's words in the sort menu."""
        return cls.SORT_LABELS

    def filter_queryset(self, queryset):
        return super().filter_queryset(queryset).order_by(*self.sorts()[self.current_sort])

    def valid_or_400(self):
        """The filtered rows, or a 400 naming each invalid input (the API's answer)."""
        if not self.is_valid():
            raise ValidationError(self.errors)
        return self.qs

    def page_rows(self):
        """The filtered rows, or none when the input is invalid (the page shows the errors)."""
        return self.qs if self.is_valid() else self.queryset.none()

    @staticmethod
    def unchanged(queryset, name, value):
        """For the sort filters: the order is applied last, by `filter_queryset`."""
        return queryset

    @classmethod
    def form_class(cls, interface: str = HTML):
        """The class of the form `interface` binds, without a request (the fuzz tests read its fields)."""
        other = API if interface == HTML else HTML
        fields = {
            name: copy.deepcopy(filter_).field
            for name, filter_ in cls.base_filters.items()
            if name not in cls.ONLY[other]
        }
        return type(f"{cls.__name__}Form", (cls._meta.form,), fields)

    @classmethod
    def parameters(cls, interface: str = API) -> list[OpenApiParameter]:
        """The OpenAPI query parameters of `interface`'s filters (drf-spectacular)."""
        other = API if interface == HTML else HTML
        params = []
        for name, filter_ in cls.base_filters.items():
            if name in cls.ONLY[other]:
                continue
            field_class = filter_.field_class
            enum = None
            if issubclass(field_class, forms.ModelChoiceField):
                kind = OpenApiTypes.INT
            elif issubclass(field_class, forms.BooleanField):
                kind = OpenApiTypes.BOOL
            else:
                kind = OpenApiTypes.STR
                choices = filter_.extra.get("choices")
                if callable(choices):
                    choices = choices()
                if choices:
                    enum = [str(value) for value, _ in choices]
                elif filter_.extra.get("max_length"):
                    kind = {"type": "string", "maxLength": filter_.extra["max_length"]}
            description = cls.DESCRIPTIONS.get(name) or str(filter_.label or name.replace("_", " ").capitalize())
            if name == "ordering":
                description = (
                    f"The order, `{cls.DEFAULT_SORT}` when left out: "
                    + "; ".join(f"`{key}` {label[0].lower()}{label[1:]}" for key, label in cls.sort_labels().items())
                    + "."
                )
            params.append(OpenApiParameter(name, kind, OpenApiParameter.QUERY, description=description, enum=enum))
        return params


# --- deals ---------------------------------------------------------------------------------------------


class DealFilter(ListFilterSet):
    """My deals (and all deals I can see) and `GET /api/opportunities/`.

    The page shows my open deals unless told otherwise (`scope=all`, `status=` for any status);
    the API lists every deal the caller may read."""

    SORTS = {
        "close": ("expected_close_date", "id"),
        "-close": ("-expected_close_date", "-id"),
        "amount": ("amount", "id"),
        "-amount": ("-amount", "-id"),
        "name": ("name", "id"),
        "-name": ("-name", "-id"),
        "stage": ("stage__order", "id"),
        "-stage": ("-stage__order", "-id"),
        "next_step": ("next_step__due_date", "id"),
        "-next_step": ("-next_step__due_date", "-id"),
        "updated": ("-updated_at", "-id"),
    }
    # What the sort menu says: the order in words, not the field's name.
    SORT_LABELS = {
        "close": "Close date, soonest first",
        "-close": "Close date, latest first",
        "amount": "Amount, smallest first",
        "-amount": "Amount, largest first",
        "name": "Deal name, A to Z",
        "-name": "Deal name, Z to A",
        "stage": "Stage, earliest first",
        "-stage": "Stage, furthest first",
        "next_step": "Next step due, soonest first",
        "-next_step": "Next step due, latest first",
        "updated": "Recently updated first",
    }
    DEFAULT_SORT = "close"
    ONLY = {HTML: ("scope", "sort"), API: ("owner", "ordering")}
    DESCRIPTIONS = {
        "q": "Search deal and account names and the deals' buying-team contacts' names.",
        "process": "A sales process's id.",
        "stage": "A stage's id.",
        "close_month": "Deals expected to close in this month, as 2026-03.",
        "status": "Deals of this status; any status when left out.",
        "owner": "`me`: only the deals you own; left out, every deal you may see.",
    }

    q = django_filters.CharFilter(
        method="filter_search",
        max_length=100,
        label="Search",
    )
    process = django_filters.ModelChoiceFilter(
        label="Process", queryset=SalesProcess.objects.all(), empty_label="All processes"
    )
    stage = StageFilter(
        label="Stage",
        queryset=Stage.objects.select_related("process").order_by("process__name", "order"),
        empty_label="All stages",
    )
    close_month = MonthFilter(
        method="filter_close_month",
        label="Close month",
    )
    status = django_filters.ChoiceFilter(label="Status", choices=OpportunityStatus.choices, empty_label="Any")
    scope = django_filters.ChoiceFilter(
        label="Scope", choices=[("mine", "Mine"), ("all", "All I can see")], empty_label=None, method="unchanged"
    )
    owner = django_filters.ChoiceFilter(
        label="Owner", choices=[("me", "Only deals I own")], empty_label=None, method="filter_owner"
    )
    # Their choices include the sorts higher apps register (`deal_sorts`), read when first needed.
    sort = django_filters.ChoiceFilter(
        label="Sort by", choices=lambda: list(DealFilter.sort_labels().items()), empty_label=None, method="unchanged"
    )
    ordering = django_filters.ChoiceFilter(
        label="Ordering",
        choices=lambda: [(key, key) for key in DealFilter.sorts()],
        empty_label=None,
        method="unchanged",
    )

    class Meta:
        model = Opportunity
        fields = []

    def __init__(self, data, *, request, interface: str = HTML, today: dt.date | None = None):
        super().__init__(data, request=request, interface=interface)
        self.filters["close_month"].extra["widget"] = MonthSelect(today=today)

    @classmethod
    def sorts(cls) -> dict:
        return {**cls.SORTS, **{key: sort.order_by for key, sort in deal_sorts().items()}}

    @classmethod
    def sort_labels(cls) -> dict:
        return {**cls.SORT_LABELS, **{key: sort.label for key, sort in deal_sorts().items()}}

    def visible(self):
        return Opportunity.objects.for_user(self.user).with_list_relations()

    @property
    def current_scope(self) -> str:
        """The page's scope in force: the user's own deals unless `scope=all`."""
        if self.is_bound and self.form.is_valid() and self.form.cleaned_data.get("scope") == "all":
            return "all"
        return "mine"

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if self.interface == HTML:
            if self.current_scope == "mine":
                queryset = queryset.owned_by(self.user)
            if "status" not in self.data:  # `status=` (empty) asks for any status
                queryset = queryset.filter(status=OpportunityStatus.OPEN)
        return queryset

    def filter_search(self, queryset, name, value):
        return queryset.search(value)

    def filter_close_month(self, queryset, name, value):
        year, month = value
        return queryset.filter(expected_close_date__year=year, expected_close_date__month=month)

    def filter_owner(self, queryset, name, value):
        return queryset.owned_by(self.user)


# --- accounts ------------------------------------------------------------------------------------------


def _active_people(request):
    return get_user_model().objects.filter(is_active=True).order_by("first_name", "last_name", "id")


def _industries(user):
    """The industries of the accounts `user` may see, as choices: read when first needed (a form
    shown, an industry given), once. A function, not a bound method: a form's fields are
    deep-copied, and a function is copied as itself."""

    @functools.cache
    def choices():
        names = Account.objects.for_user(user).exclude(industry="").order_by("industry")
        return [(name, name) for name in names.values_list("industry", flat=True).distinct()]

    return choices


class AccountFilter(ListFilterSet):
    """The accounts list and `GET /api/accounts/`: accounts with their health
    (`opportunities.accounts.with_health`), filtered and ordered by any of it."""

    SORTS = {
        "name": ("name", "id"),
        "-name": ("-name", "-id"),
        "health": ("health", "name", "id"),
        "-health": ("-health", "name", "id"),
        "touch": (F("last_touch").asc(nulls_first=True), "id"),
        "-touch": (F("last_touch").desc(nulls_last=True), "id"),
        "deals": ("-open_deals", "name", "id"),
        "won": ("-won_deals", "name", "id"),
        "next_step": (F("next_step_due").asc(nulls_first=True), "name", "id"),
    }
    SORT_LABELS = {
        "name": "Name, A to Z",
        "-name": "Name, Z to A",
        "health": "Health, coldest first",
        "-health": "Health, healthiest first",
        "touch": "Last touch, longest ago first",
        "-touch": "Last touch, latest first",
        "deals": "Open deals, most first",
        "won": "Won deals, most first",
        "next_step": "Next step: none, then soonest due",
    }
    DEFAULT_SORT = "name"
    ONLY = {HTML: ("sort",), API: ("ordering",)}
    DESCRIPTIONS = {
        "q": "Search account names.",
        "health": f"Healthy: touched in the last {TOUCH_DAYS} days, with an open deal or a next step on time; "
        f"cold: not touched for {COLD_DAYS} days.",
        "touched": f"Last touched in the last 30 or 90 days, or `stale`: not in {COLD_DAYS} days (or never).",
        "deals": "`open`: with an open deal you may see; `none`: without one.",
        "no_next_step": "`true`: only accounts without an open next step.",
        "industry": "Accounts of this industry (as spelled on the accounts).",
        "owner": "The owner's user id.",
    }

    q = django_filters.CharFilter(method="filter_search", max_length=100, label="Search")
    health = django_filters.ChoiceFilter(
        label="Health", choices=HEALTH_CHOICES, empty_label="Any", method="filter_health"
    )
    touched = django_filters.ChoiceFilter(
        label="Last touch",
        choices=[("30", "In the last 30 days"), ("90", "In the last 90 days"), ("stale", f"Not in {COLD_DAYS} days")],
        empty_label="Any time",
        method="filter_touched",
    )
    deals = django_filters.ChoiceFilter(
        label="Open deals",
        choices=[("open", "With an open deal"), ("none", "No open deal (nurture)")],
        empty_label="Any",
        method="filter_deals",
    )
    no_next_step = CheckboxFilter(label="No next step", method="filter_no_next_step")
    # Its choices, the industries of the accounts the user may see, are read only when needed.
    industry = django_filters.ChoiceFilter(label="Industry", empty_label="All industries")
    owner = django_filters.ModelChoiceFilter(label="Owner", queryset=_active_people, empty_label="Anyone")
    sort = django_filters.ChoiceFilter(
        label="Sort by", choices=list(SORT_LABELS.items()), empty_label=None, method="unchanged"
    )
    ordering = django_filters.ChoiceFilter(
        label="Ordering", choices=[(key, key) for key in SORTS], empty_label=None, method="unchanged"
    )

    class Meta:
        model = Account
        fields = []

    def __init__(self, data, *, request, interface: str = HTML, now: dt.datetime):
        self.now = now
        super().__init__(data, request=request, interface=interface)
        self.filters["industry"].extra["choices"] = _industries(self.user)

    def visible(self):
        return with_health(Account.objects.for_user(self.user).select_related("owner"), user=self.user, now=self.now)

    def filter_search(self, queryset, name, value):
        return queryset.search(value)

    def filter_health(self, queryset, name, value):
        return queryset.filter(health=HEALTH_BY_NAME[value])

    def filter_touched(self, queryset, name, value):
        if value == "stale":
            since = self.now - dt.timedelta(days=COLD_DAYS)
            return queryset.filter(Q(last_touch__lt=since) | Q(last_touch__isnull=True))
        return queryset.filter(last_touch__gte=self.now - dt.timedelta(days=int(value)))

    def filter_deals(self, queryset, name, value):
        return queryset.filter(open_deals__gt=0) if value == "open" else queryset.filter(open_deals=0)

    def filter_no_next_step(self, queryset, name, value):
        return queryset.filter(next_step_due__isnull=True) if value else queryset


# --- contacts ------------------------------------------------------------------------------------------


class ContactFilter(ListFilterSet):
    """The contacts list and `GET /api/accounts/{id}/contacts/` (one account's contacts), by name."""

    SORTS = {"name": ("last_name", "first_name", "id")}
    DEFAULT_SORT = "name"
    DESCRIPTIONS = {"q": "Contacts whose name, title or email holds every word."}

    q = django_filters.CharFilter(method="filter_search", max_length=100, label="Search")

    class Meta:
        model = Contact
        fields = []

    def __init__(self, data, *, request, interface: str = HTML, account: Account | None = None):
        self.account = account
        super().__init__(data, request=request, interface=interface)

    def visible(self):
        contacts = Contact.objects.for_user(self.user)
        return contacts if self.account is None else contacts.filter(account=self.account)

    def filter_search(self, queryset, name, value):
        return queryset.matching(value)
