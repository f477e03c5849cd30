import datetime as dt

from django.conf import settings
from django.contrib.postgres.fields import DateTimeRangeField
from django.contrib.postgres.indexes import OpClass
from django.contrib.postgres.search import SearchVector
from django.core.validators import MinValueValidator
from django.db import connection, models
from django.db.models import F, Func, Q, Value
from django.db.models.functions import Concat, Upper
from django.utils import timezone

from people.access import can_edit, visible_owner_q
from stages.models import BuyingRole, Milestone, SalesProcess, Stage

from .indexes import SearchIndex, digits_only

# --- Accounts and contacts ---------------------------------------------------------------------


class AccountStatus(models.TextChoices):
    TARGET = "target", "Target"
    PROSPECT = "prospect", "Prospect"
    CUSTOMER = "customer", "Customer"
    FORMER_CUSTOMER = "former_customer", "Former customer"


class EmployeeBand(models.TextChoices):
    TINY = "1-10", "1–10"
    SMALL = "11-50", "11–50"
    MEDIUM = "51-200", "51–200"
    LARGE = "201-1000", "201–1,000"
    ENTERPRISE = "1001+", "1,001+"


class RevenueBand(models.TextChoices):
    UNDER_1M = "<1m", "Under 1M"
    M1_10 = "1m-10m", "1M–10M"
    M10_100 = "10m-100m", "10M–100M"
    M100_1B = "100m-1b", "100M–1B"
    OVER_1B = "1b+", "Over 1B"


def visible_account_q(user) -> Q:
    """The accounts `user` may read (and with them their contacts), by the organisation's
    account visibility: everyone reads every account (the default), or reps read their
    team's, or only their own. Whatever the setting, admins read all; managers read those of
    the teams they manage; and anyone reads the account of a deal they may read, since the
    deal page shows it and its contacts anyway."""
    if user.is_admin or user.sees_all_accounts():
        return Q()
    q = Q(owner=user)
    team_ids = user.managed_team_ids()
    if team_ids:
        q |= Q(owner__team__in=team_ids)
    if user.sees_team_accounts():
        q |= Q(owner__team=user.team_id)
    deals = Opportunity.objects.filter(visible_owner_q(user), account=models.OuterRef("pk"))
    return q | Q(models.Exists(deals))


class AccountQuerySet(models.QuerySet):
    def for_user(self, user):
        return self.filter(visible_account_q(user)) if user.is_authenticated else self.none()

    def search(self, text: str):
        return self.filter(name__icontains=text) if text else self


class Account(models.Model):
    """A company we sell to or hope to, worked with or without an opportunity."""

    name = models.CharField(max_length=200)
    website = models.URLField(blank=True)
    industry = models.CharField(max_length=100, blank=True)
    employee_band = models.CharField(max_length=20, choices=EmployeeBand.choices, blank=True)
    region = models.CharField(max_length=100, blank=True)
    revenue_band = models.CharField(max_length=20, choices=RevenueBand.choices, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="accounts")
    status = models.CharField(max_length=20, choices=AccountStatus.choices, default=AccountStatus.TARGET)
    created_at = models.DateTimeField(default=timezone.now)

    objects = AccountQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["name"]),
            # The global search (`opportunities.search`): words of the name, stemmed; trigrams of
            # the name and the website for typos and parts of a domain. Upper-cased because
            # Django's `icontains` compares UPPER(column) on PostgreSQL.
            SearchIndex(SearchVector("name", config="english"), name="account_name_fts_idx"),
            SearchIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="account_name_trgm_idx"),
            SearchIndex(
                OpClass(Upper("website"), name="gin_trgm_ops"),
                name="account_website_trgm_idx",
                condition=~Q(website=""),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def can_edit(self, user) -> bool:
        return account_can_edit(user, self)


def account_can_edit(user, account: Account) -> bool:
    """Whether `user` may change `account` and its contacts (reading is `for_user`'s business):
    its owner, a manager of the owner's team, an admin. Others who read it may still add
    contacts and log activities on it (see `services.contact_create`).

    The one rule the views, the API and the services ask."""
    if user.is_admin or account.owner_id == user.pk:
        return True
    return user.is_manager and user.manages(account.owner)


class ContactQuerySet(models.QuerySet):
    def for_user(self, user):
        if not user.is_authenticated:
            return self.none()
        accounts = visible_account_q(user)
        if not accounts:
            # Every contact has an account: "the contacts of every account" is all of them, and
            # asked for as such, counting them needs no join of the two tables (bench/README.md).
            return self.all()
        return self.filter(account__in=Account.objects.filter(accounts))

    def matching(self, text: str):
        """Contacts whose name, title or email holds every word of `text` (the first five)."""
        contacts = self
        for word in text.split()[:5]:
            contacts = contacts.filter(
                Q(first_name__icontains=word)
                | Q(last_name__icontains=word)
                | Q(title__icontains=word)
                | Q(email__icontains=word)
            )
        return contacts


class Contact(models.Model):
    """A person at an account."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="contacts")
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    title = models.CharField(max_length=150, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=50, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ContactQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        # The global search (`opportunities.search`): the whole name's words and trigrams (a typo
        # in either half), and the email and the phone's digits for parts of them.
        indexes = [
            SearchIndex(SearchVector("first_name", "last_name", config="simple"), name="contact_name_fts_idx"),
            SearchIndex(
                OpClass(Upper(Concat("first_name", Value(" "), "last_name")), name="gin_trgm_ops"),
                name="contact_name_trgm_idx",
            ),
            SearchIndex(
                OpClass(Upper("email"), name="gin_trgm_ops"), name="contact_email_trgm_idx", condition=~Q(email="")
            ),
            SearchIndex(
                OpClass(digits_only("phone"), name="gin_trgm_ops"),
                name="contact_phone_trgm_idx",
                condition=~Q(phone=""),
            ),
            # The contacts list pages through everyone in this order: without it, each page sorted
            # every visible contact (150,000 at 100,000 deals) to keep 25.
            models.Index(fields=["last_name", "first_name", "id"], name="contact_name_order_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def name(self) -> str:
        return str(self)

    def can_edit(self, user) -> bool:
        return account_can_edit(user, self.account)


class AccountEventVerb(models.TextChoices):
    ACCOUNT_CREATED = "account_created", "Account created"
    ACCOUNT_EDITED = "account_edited", "Account edited"
    CONTACT_CREATED = "contact_created", "Contact added"
    CONTACT_EDITED = "contact_edited", "Contact edited"
    PLAN_EDITED = "plan_edited", "Account plan edited"
    TEAM_CHANGED = "team_changed", "Account buying team changed"
    NEXT_STEP_SET = "next_step_set", "Account next step set"
    NEXT_STEP_COMPLETED = "next_step_completed", "Account next step completed"


class AccountEvent(models.Model):
    """One change to an account or to one of its contacts: who made it, when, and each field's
    old and new value (`data["changes"]`), written by the service in the change's transaction.

    The audit trail of company knowledge that many people may edit; append-only. A contact's
    rows name the contact in `data` (`contact_name`) too, so they still read right if it goes.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="events")
    contact = models.ForeignKey(Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    verb = models.CharField(max_length=30, choices=AccountEventVerb.choices)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "-created_at", "-id"], name="account_event_history_idx")]

    def __str__(self) -> str:
        return f"{self.get_verb_display()} on account {self.account_id}"

    def describe(self) -> str:
        """A sentence for the history list; user strings are escaped by the template."""
        d = self.data or {}
        # In form order: PostgreSQL's jsonb keeps keys in an order of its own.
        fields = sorted(d.get("changes", {}).items(), key=lambda kv: _FIELD_ORDER.get(kv[0], len(_FIELD_ORDER)))
        changes = "; ".join(
            f"{k.replace('_', ' ')}: {_label(k, v.get('old'))} → {_label(k, v.get('new'))}" for k, v in fields
        )
        match self.verb:
            case AccountEventVerb.ACCOUNT_CREATED:
                return f"Created the account {d.get('name', '')}".strip()
            case AccountEventVerb.ACCOUNT_EDITED:
                why = f" ({d['reason']})" if d.get("reason") else ""
                return f"Edited the account{why}: {changes}"
            case AccountEventVerb.CONTACT_CREATED:
                return f"Added contact {d.get('contact_name', '?')}"
            case AccountEventVerb.CONTACT_EDITED:
                return f"Edited contact {d.get('contact_name', '?')}: {changes}"
            case AccountEventVerb.PLAN_EDITED:
                return "Edited the account plan's objectives"
            case AccountEventVerb.TEAM_CHANGED:
                roles = ", ".join(d.get("roles", []))
                return f"Buying team: {d.get('action')} {d.get('contact_name', '?')} {roles}".strip()
            case AccountEventVerb.NEXT_STEP_SET:
                return f"Next step: {d.get('description')} (due {d.get('due_date')})"
            case AccountEventVerb.NEXT_STEP_COMPLETED:
                return f"Completed next step: {d.get('description')}"
        return self.get_verb_display()


_FIELD_ORDER = {
    name: i
    for i, name in enumerate(
        ("name", "website", "industry", "employee_band", "region", "revenue_band", "status", "owner")
        + ("first_name", "last_name", "title", "email", "phone")
    )
}


def _label(field: str, value) -> str:
    """How an audited value reads: choices by their label, blanks as a dash."""
    choices = {"status": AccountStatus, "employee_band": EmployeeBand, "revenue_band": RevenueBand}.get(field)
    if choices is not None and value in choices.values:
        return str(choices(value).label)
    return str(value) if value not in (None, "") else "—"


# --- Opportunities -----------------------------------------------------------------------------


class LostReason(models.Model):
    """An admin-maintained reason a deal can be closed lost for."""

    name = models.CharField(max_length=100, unique=True)
    is_active = models.BooleanField(default=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name


class Competitor(models.Model):
    """A company we compete with for deals, on the admin-managed list reps pick from."""

    name = models.CharField(max_length=100, unique=True)
    website = models.URLField(blank=True)
    notes = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class OpportunityStatus(models.TextChoices):
    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"


class LeadSource(models.TextChoices):
    """Where a deal came from. Deals recorded before it was asked for have none ("Not set")."""

    INBOUND = "inbound", "Inbound"
    OUTBOUND = "outbound", "Outbound"
    REFERRAL = "referral", "Referral"
    PARTNER = "partner", "Partner"
    EVENT = "event", "Event"
    EXISTING_CUSTOMER = "existing_customer", "Existing customer"


SOURCE_NOT_SET = "Not set"


class OpportunityQuerySet(models.QuerySet):
    def for_user(self, user):
        if not user.is_authenticated:
            return self.none()
        return self.filter(visible_owner_q(user))

    def open(self):
        return self.filter(status=OpportunityStatus.OPEN)

    def closed(self):
        # Written as the predicate of `opportunity_closed_facts_idx`, so that the planner may read
        # the closed deals from that index alone; "not open" does not tell it they are in it.
        return self.filter(status__in=[OpportunityStatus.WON, OpportunityStatus.LOST])

    def owned_by(self, user):
        return self.filter(owner=user)

    def search(self, text: str):
        """Deals whose name, account's name or a buying-team contact's name holds `text`."""
        if not text:
            return self
        contacts = (
            BuyingTeamMember.objects.filter(opportunity=models.OuterRef("pk"))
            .annotate(_contact_name=Concat("contact__first_name", Value(" "), "contact__last_name"))
            .filter(_contact_name__icontains=text)
        )
        return self.filter(Q(name__icontains=text) | Q(account__name__icontains=text) | Q(models.Exists(contacts)))

    def with_list_relations(self):
        return self.select_related("account", "process", "stage", "owner", "next_step")


class Opportunity(models.Model):
    """A deal: one account, one sales process, one current stage, one owner.

    Stage, amount, close date, owner and status change only through `opportunities.services`,
    which write an `OpportunityEvent` for each change and bump `version` so that concurrent
    edits are detected instead of silently overwritten.
    """

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="opportunities")
    process = models.ForeignKey(SalesProcess, on_delete=models.PROTECT, related_name="opportunities")
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="opportunities")
    # Indexed by `opportunity_owner_idx` below, which also carries the id.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="opportunities", db_index=False
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="What the buyer wants to achieve, and what we sell them.")
    amount = models.DecimalField(max_digits=14, decimal_places=2, validators=[MinValueValidator(0)])
    expected_close_date = models.DateField()
    status = models.CharField(max_length=10, choices=OpportunityStatus.choices, default=OpportunityStatus.OPEN)
    closed_on = models.DateField(null=True, blank=True)
    closed_stage = models.ForeignKey(
        Stage, on_delete=models.PROTECT, null=True, blank=True, related_name="closed_opportunities"
    )
    lost_reason = models.ForeignKey(LostReason, on_delete=models.PROTECT, null=True, blank=True)
    # The competitor a lost deal went to, if any (the ones a won deal beat are on its
    # `DealCompetitor` rows).
    lost_to = models.ForeignKey(Competitor, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    close_notes = models.TextField(blank=True)
    # The account's segment as it was when the deal closed (blank while open; see
    # `remember_closing_segment`). Win/loss analysis groups closed deals by it from their own rows,
    # and a deal decided in one segment stays counted there when the account is edited later.
    # Database defaults, like `source`, so that adding the columns rewrites nothing.
    closed_industry = models.CharField(max_length=100, blank=True, default="", db_default="")
    closed_employee_band = models.CharField(
        max_length=20, choices=EmployeeBand.choices, blank=True, default="", db_default=""
    )
    closed_region = models.CharField(max_length=100, blank=True, default="", db_default="")
    # Blank for the deals from before it was asked for. The database default too, so that adding
    # the column is a catalogue change on PostgreSQL and older writers (COPY, scripts) still work.
    source = models.CharField(
        max_length=20, choices=LeadSource.choices, blank=True, default="", db_default="", verbose_name="lead source"
    )
    # Derived from the event history, kept on the row so lists and sweeps need no aggregation.
    stage_entered_at = models.DateTimeField(default=timezone.now)
    # The stage furthest along the process the deal has ever been in (moving back does not lower
    # it): what stage-to-stage conversion counts, without replaying every deal's moves.
    furthest_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    close_date_push_count = models.PositiveIntegerField(default=0)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    next_step = models.OneToOneField("NextStep", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = OpportunityQuerySet.as_manager()

    class Meta:
        ordering = ["expected_close_date", "id"]
        verbose_name_plural = "opportunities"
        indexes = [
            models.Index(fields=["owner", "status", "expected_close_date"]),
            models.Index(fields=["status", "stage"]),
            models.Index(fields=["account", "status"]),
            # The global search (`opportunities.search`): the name's words, stemmed, and trigrams.
            SearchIndex(SearchVector("name", config="english"), name="opportunity_name_fts_idx"),
            SearchIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="opportunity_name_trgm_idx"),
            # Covering indexes for the dashboard's aggregates (index-only on PostgreSQL; SQLite
            # ignores INCLUDE): the open pipeline, the deals closed in a period (with what the
            # win/loss analysis groups them by), and the deals created in a period (conversion),
            # with the owner for a manager's view of them.
            # Partial conditions are spelled as ORs: the planner proves that a query's `IN (…)`
            # implies them, which it cannot for the ARRAY of varchar that Django renders from
            # `__in`.
            models.Index(
                fields=["stage"],
                include=["owner", "expected_close_date", "amount"],
                condition=Q(status="open"),
                name="opportunity_open_pipeline_idx",
            ),
            # The win/loss analysis (`postmortem.winloss`) reads every closed deal several times:
            # with the account and the creation time too, each pass is index-only.
            models.Index(
                fields=["closed_on"],
                include=[
                    "status",
                    "process",
                    "owner",
                    "amount",
                    "id",
                    "account",
                    "created_at",
                    "closed_industry",
                    "closed_employee_band",
                    "closed_region",
                    "closed_stage",
                    "lost_to",
                ],
                condition=Q(status="won") | Q(status="lost"),
                name="opportunity_closed_facts_idx",
            ),
            models.Index(
                fields=["created_at"],
                include=["furthest_stage", "stage", "status", "owner"],
                name="opportunity_created_at_idx",
            ),
            # The ids of the deals of some owners (the deals in a manager's view), index-only.
            models.Index(fields=["owner"], include=["id"], name="opportunity_owner_idx"),
            # A board column's first cards in board order (`pipeline.board.CARD_ORDER`): a LIMIT
            # reads the first entries of the stage instead of sorting its open deals.
            models.Index(
                fields=["stage", "expected_close_date", "-amount", "id"],
                include=["owner"],
                condition=Q(status="open"),
                name="board_open_card_order_idx",
            ),
            # The open deals with just what the pipeline-health definition reads
            # (`pipeline.health`), so the sweep runs index-only.
            models.Index(
                fields=["id"],
                include=[
                    "stage",
                    "next_step",
                    "updated_at",
                    "stage_entered_at",
                    "last_activity_at",
                    "expected_close_date",
                    "close_date_push_count",
                ],
                condition=Q(status="open"),
                name="opportunity_open_health_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="opportunity_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_open(self) -> bool:
        return self.status == OpportunityStatus.OPEN

    @property
    def is_closed(self) -> bool:
        return not self.is_open

    # The account fields a closed deal keeps a copy of, by the deal's field.
    CLOSING_SEGMENT = {
        "closed_industry": "industry",
        "closed_employee_band": "employee_band",
        "closed_region": "region",
    }

    def filing(self) -> dict:
        """The deal's status, close day, owner and process, which its competitors' rows (and
        apps above, a post-mortem's) carry as `deal_*`, so that the win/loss analysis counts them
        and filters them as it filters the deals without joining the deals (bench/README.md). The
        services copy it whenever one of these changes (`opportunities.services._filing_follows`)."""
        return {
            "deal_status": self.status,
            "deal_closed_on": self.closed_on,
            "deal_owner_id": self.owner_id,
            "deal_process_id": self.process_id,
        }

    def remember_closing_segment(self) -> list[str]:
        """As the deal closes, copy its account's segment onto it (or clear the copy as it
        reopens); returns the fields set, for `save(update_fields=…)`."""
        for field, account_field in self.CLOSING_SEGMENT.items():
            setattr(self, field, getattr(self.account, account_field) if self.is_closed else "")
        return list(self.CLOSING_SEGMENT)

    @property
    def source_label(self) -> str:
        """The lead source in words, "Not set" for the deals without one."""
        return self.get_source_display() if self.source else SOURCE_NOT_SET

    def days_in_stage(self, now: dt.datetime | None = None) -> int:
        return ((now or timezone.now()) - self.stage_entered_at).days

    def can_edit(self, user) -> bool:
        """Whether `user` may change this deal (reading is decided by `for_user`)."""
        return can_edit(user, self)

    def next_step_state(self, today: dt.date | None = None) -> str:
        """none / overdue / today / later, for the list badge."""
        step = self.next_step
        if step is None:
            return "none"
        today = today or timezone.localdate()
        if step.due_date < today:
            return "overdue"
        if step.due_date == today:
            return "today"
        return "later"


class BuyingTeamMember(models.Model):
    """A contact on an opportunity's buying team, with the roles they play in this deal."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="buying_team")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="buying_roles")
    roles = models.JSONField(default=list, help_text="BuyingRole values.")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["opportunity", "contact"], name="buying_team_contact_once"),
        ]
        indexes = [
            # The members whose time to be contacted ran out between two pipeline-health sweeps
            # (`pipeline.health.definition.crossed_thresholds_sql`): a range of `added_at` per
            # stage, instead of reading every member of every deal each time.
            models.Index(fields=["added_at"], include=["opportunity"], name="buying_team_added_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.contact} on {self.opportunity}"

    def role_labels(self) -> list[str]:
        labels = dict(BuyingRole.choices)
        return [labels.get(role, role) for role in self.roles]


class DealCompetitorStatus(models.TextChoices):
    EVALUATING = "evaluating", "Evaluating"
    PREFERRED = "preferred", "Preferred by buyer"
    ELIMINATED = "eliminated", "Eliminated"


CLOSED_FILING = Q(deal_status=OpportunityStatus.WON) | Q(deal_status=OpportunityStatus.LOST)


class FilingQuerySet(models.QuerySet):
    """Filters on rows that carry their deal's filing (`CarriesFiling`)."""

    def of_deals_for(self, user):
        """The rows of the deals `user` may read, by the owner their deal's filing names."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(visible_owner_q(user, prefix="deal_owner"))

    def of_closed_deals(self):
        # Written as the predicate of the partial indexes on closed deals' rows (`CLOSED_FILING`).
        return self.filter(CLOSED_FILING)


class CarriesFiling(models.Model):
    """A row that carries its deal's filing (`Opportunity.filing`: status, close day, owner,
    process), copied by the services whenever it changes (`services._filing_follows`), so that
    an analysis counts such rows by their deal's filters without joining the deals."""

    deal_status = models.CharField(
        max_length=10, choices=OpportunityStatus.choices, default=OpportunityStatus.OPEN, db_default="open"
    )
    deal_closed_on = models.DateField(null=True, blank=True)
    deal_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+", db_index=False
    )
    deal_process = models.ForeignKey(
        SalesProcess, on_delete=models.PROTECT, null=True, related_name="+", db_index=False
    )

    class Meta:
        abstract = True


class DealCompetitor(CarriesFiling):
    """A competitor in play on a deal, with where the buyer stands on it; `beaten` marks the
    ones a won deal beat (set at close, cleared on reopen)."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="competitors")
    competitor = models.ForeignKey(Competitor, on_delete=models.PROTECT, related_name="deals")
    status = models.CharField(
        max_length=20, choices=DealCompetitorStatus.choices, default=DealCompetitorStatus.EVALUATING
    )
    beaten = models.BooleanField(default=False)
    added_at = models.DateTimeField(default=timezone.now)

    objects = FilingQuerySet.as_manager()

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["opportunity", "competitor"], name="deal_competitor_once"),
        ]
        indexes = [
            # The competitors of the closed deals, read from this index alone by the win/loss
            # analysis (`DealCompetitorQuerySet.of_closed_deals`).
            models.Index(
                fields=["deal_closed_on"],
                include=["deal_status", "deal_owner", "deal_process", "competitor"],
                condition=CLOSED_FILING,
                name="dealcompetitor_closed_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.competitor} on {self.opportunity}"


class MilestoneCompletion(models.Model):
    """A milestone ticked on an opportunity: by whom, when, and the evidence for it."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="milestone_completions")
    milestone = models.ForeignKey(Milestone, on_delete=models.CASCADE, related_name="completions")
    completed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    completed_at = models.DateTimeField(default=timezone.now)
    evidence = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            # Carrying the completion time lets "ticked by <date>" (the dashboard's milestone
            # win rates as of a day) read this index alone, as the live rates already do.
            models.UniqueConstraint(
                fields=["opportunity", "milestone"], include=["completed_at"], name="milestone_completed_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.milestone} on {self.opportunity}"


class ActivityKind(models.TextChoices):
    EMAIL = "email", "Email"
    CALL = "call", "Call"
    MEETING = "meeting", "Meeting"
    DEMO = "demo", "Demo"
    REFERENCE_CALL = "reference_call", "Reference call"
    CONTENT_SHARED = "content_shared", "Content shared"
    NOTE = "note", "Note"
    TASK = "task", "Task"


class ActivityQuerySet(models.QuerySet):
    def for_user(self, user):
        """Account-only activities follow their account; deal activities follow the deal."""
        if not user.is_authenticated:
            return self.none()
        if user.is_admin:
            return self
        account_only = Q(opportunity__isnull=True)
        if not user.sees_all_accounts():
            account_only &= Q(account__in=Account.objects.for_user(user))
        return self.filter(account_only | Q(visible_owner_q(user, "opportunity__owner")))


class Activity(models.Model):
    """Something done to nurture an account or a deal: an email, a meeting, a demo, …"""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="activities")
    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, null=True, blank=True, related_name="activities"
    )
    kind = models.CharField(max_length=20, choices=ActivityKind.choices)
    subject = models.CharField(max_length=200)
    notes = models.TextField(blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    contacts = models.ManyToManyField(Contact, blank=True, related_name="activities")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    objects = ActivityQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "activities"
        indexes = [
            models.Index(fields=["opportunity", "-occurred_at"]),
            models.Index(fields=["account", "-occurred_at"]),
            # The deal activities that left a buying team's contact window between two
            # pipeline-health sweeps (`pipeline.health.definition.crossed_thresholds_sql`): a
            # range of `occurred_at` per stage, instead of reading every activity each time.
            # Account-only activities never count for a deal's buying team.
            models.Index(
                fields=["occurred_at"],
                include=["opportunity"],
                condition=Q(opportunity__isnull=False),
                name="activity_deal_occurred_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject}"


class NextStepKind(models.TextChoices):
    ACTION = "action", "Action"
    WAITING = "waiting", "Waiting on buyer"


class NextStep(models.Model):
    """A committed next step on a deal. At most one per opportunity is open at a time;
    completed ones are kept as history."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="next_steps")
    kind = models.CharField(max_length=10, choices=NextStepKind.choices, default=NextStepKind.ACTION)
    description = models.CharField(max_length=300)
    due_date = models.DateField()
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="next_steps")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["opportunity"],
                condition=Q(completed_at__isnull=True),
                name="one_open_next_step_per_opportunity",
            ),
        ]
        indexes = [
            # The open next steps' due dates, for the pipeline-health sweep (completing a step
            # clears the deal's `next_step`, so the open ones are all it joins).
            models.Index(
                fields=["id"],
                include=["due_date"],
                condition=Q(completed_at__isnull=True),
                name="nextstep_open_due_idx",
            ),
            # The open next steps that fell due between two pipeline-health sweeps
            # (`pipeline.health.definition.crossed_thresholds_sql`): a range of due dates, where
            # the index above would be read whole.
            models.Index(
                fields=["due_date"],
                include=["opportunity"],
                condition=Q(completed_at__isnull=True),
                name="nextstep_open_due_date_idx",
            ),
        ]

    def __str__(self) -> str:
        if self.kind == NextStepKind.WAITING:
            return f"Waiting on buyer until {self.due_date:%Y-%m-%d}"
        return self.description

    @property
    def is_open(self) -> bool:
        return self.completed_at is None


class EventVerb(models.TextChoices):
    CREATED = "created", "Created"
    EDITED = "edited", "Details edited"
    STAGE_MOVED = "stage_moved", "Stage moved"
    MILESTONE_TICKED = "milestone_ticked", "Milestone ticked"
    MILESTONE_UNTICKED = "milestone_unticked", "Milestone unticked"
    AMOUNT_CHANGED = "amount_changed", "Amount changed"
    CLOSE_DATE_CHANGED = "close_date_changed", "Close date changed"
    OWNER_CHANGED = "owner_changed", "Owner changed"
    NEXT_STEP_SET = "next_step_set", "Next step set"
    NEXT_STEP_COMPLETED = "next_step_completed", "Next step completed"
    CLOSED_WON = "closed_won", "Closed won"
    CLOSED_LOST = "closed_lost", "Closed lost"
    REOPENED = "reopened", "Reopened"
    OVERRIDE_USED = "override_used", "Override used"
    BUYING_TEAM_CHANGED = "buying_team_changed", "Buying team changed"
    ACTIVITY_LOGGED = "activity_logged", "Activity logged"
    COMPETITOR_CHANGED = "competitor_changed", "Competitor changed"


class OpportunityEventQuerySet(models.QuerySet):
    def alive_at(self, moment: dt.datetime, *, only_open: bool = False) -> "OpportunityEventQuerySet":
        """The events whose state interval contains `moment`: each deal's state at `moment`, one
        row per deal that existed then (`created_at <= moment < valid_to`, or no `valid_to` yet).

        With `only_open`, only the deals open at `moment`. On PostgreSQL those are also asked for
        as a range containment: two open-ended ranges walk every interval that ended since
        `moment` in a B-tree, while the GiST index on the open intervals (created by the pipeline
        migration `0004_event_state_interval_gist`) finds the ones alive then directly.
        """
        qs = self.filter(Q(valid_to__isnull=True) | Q(valid_to__gt=moment), created_at__lte=moment)
        if not only_open:
            return qs
        qs = qs.filter(state_status=OpportunityStatus.OPEN)
        if connection.vendor == "postgresql":
            interval = Func(F("created_at"), F("valid_to"), function="tstzrange", output_field=DateTimeRangeField())
            qs = qs.alias(s_interval=interval).filter(s_interval__contains=moment)
        return qs


class OpportunityEvent(models.Model):
    """One state change of an opportunity, written in the same transaction as the change.

    The history is append-only; time in stage, slips and every later analytic are computed from
    it. `version` is the opportunity's version after the change, so a stale edit form can be
    shown exactly what happened since it was loaded.
    """

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    verb = models.CharField(max_length=30, choices=EventVerb.choices)
    from_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    data = models.JSONField(default=dict, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    # The deal's state right after this event and until the next one (`valid_to`), replayed
    # from the history by `opportunities.history.event_states_rebuild`. It turns the history
    # into intervals, so "the pipeline as of a date" is one indexed range query.
    state_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    state_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    state_close_date = models.DateField(null=True, blank=True)
    state_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    state_status = models.CharField(max_length=10, choices=OpportunityStatus.choices, blank=True)
    valid_to = models.DateTimeField(null=True, blank=True)
    # On an event that leaves a stage (a move, a close): when the deal entered that stage. Time
    # in stage is then one subtraction per event instead of a search for the way in.
    stage_entered_at = models.DateTimeField(null=True, blank=True)

    objects = OpportunityEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["opportunity", "created_at"]),
            models.Index(fields=["verb", "created_at"]),
            models.Index(fields=["state_status", "valid_to", "created_at"], name="event_state_interval_idx"),
            # Closes and reopens (a few percent of the history): what was closed in a period,
            # as of a date, without walking the period's other stage changes.
            models.Index(
                fields=["created_at"],
                include=["verb", "opportunity", "from_stage"],
                condition=Q(verb="closed_won") | Q(verb="closed_lost") | Q(verb="reopened"),
                name="event_close_idx",
            ),
            # The closed deals' state intervals (a few percent of all): "closed as of a date"
            # reads them index-only; the open ones have their own GiST index (pipeline 0004).
            models.Index(
                fields=["created_at"],
                include=["valid_to", "opportunity", "state_owner", "state_stage", "state_status"],
                condition=Q(state_status="won") | Q(state_status="lost"),
                name="event_closed_interval_idx",
            ),
            # Stage exits, stage by stage in time order: time in stage reads each stage's
            # exits of a period as one index-only range, already grouped.
            models.Index(
                fields=["from_stage", "created_at"],
                include=["stage_entered_at", "opportunity", "id"],
                condition=Q(verb="stage_moved") | Q(verb="closed_won") | Q(verb="closed_lost"),
                name="event_stage_exit_idx",
            ),
            # Every stage change by time, with what it changed: the dashboard's "changes in this
            # period" (exits, creations, wins) index-only.
            models.Index(
                fields=["created_at"],
                include=["opportunity", "verb", "from_stage", "to_stage", "id"],
                condition=Q(verb__in=["created", "stage_moved", "reopened", "closed_won", "closed_lost"]),
                name="event_stage_change_idx",
            ),
            # Each deal's ways into a stage by time: "when did this deal enter the stage it is
            # leaving" is one index-only probe.
            models.Index(
                fields=["opportunity", "created_at", "id"],
                condition=Q(verb__in=["created", "stage_moved", "reopened"]),
                name="event_stage_entry_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_verb_display()} on {self.opportunity_id}"

    def describe(self) -> str:
        """A sentence for the history list; user strings are escaped by the template."""
        d = self.data or {}
        match self.verb:
            case EventVerb.STAGE_MOVED:
                text = f"Moved from {d.get('from_name', '?')} to {d.get('to_name', '?')}"
                if d.get("process_changed"):
                    change = d["process_changed"]
                    return f"{text}: sales process changed from {change.get('old')} to {change.get('new')}"
                if d.get("on_close"):
                    return text + " on closing won"
                return text + (" (backwards)" if d.get("backwards") else "")
            case EventVerb.MILESTONE_TICKED:
                return f"Ticked “{d.get('milestone', '?')}”" + (f" — {d['evidence']}" if d.get("evidence") else "")
            case EventVerb.MILESTONE_UNTICKED:
                return f"Unticked “{d.get('milestone', '?')}”"
            case EventVerb.AMOUNT_CHANGED:
                return f"Amount changed from {d.get('old')} to {d.get('new')}"
            case EventVerb.CLOSE_DATE_CHANGED:
                pushed = f" (pushed later {_times(d.get('push_count'))})" if d.get("pushed_later") else ""
                return f"Close date changed from {d.get('old')} to {d.get('new')}{pushed}"
            case EventVerb.OWNER_CHANGED:
                return f"Owner changed from {d.get('old_name')} to {d.get('new_name')}"
            case EventVerb.NEXT_STEP_SET:
                return f"Next step: {d.get('description')} (due {d.get('due_date')})"
            case EventVerb.NEXT_STEP_COMPLETED:
                then = {"closing": " — the deal is closing", "waiting": " — now waiting on the buyer"}
                return f"Completed next step: {d.get('description')}" + then.get(d.get("then"), "")
            case EventVerb.CLOSED_WON:
                beaten = f", beating {', '.join(d['beaten'])}" if d.get("beaten") else ""
                return f"Closed won in {d.get('stage_name')}{_skipped(d)}{beaten}" + _close_notes(d, "why we won")
            case EventVerb.CLOSED_LOST:
                lost_to = f" (lost to {d['lost_to']})" if d.get("lost_to") else ""
                reason = f"Closed lost in {d.get('stage_name')}: {d.get('reason')}{lost_to}"
                return reason + _close_notes(d, "notes")
            case EventVerb.REOPENED:
                return f"Reopened (was {d.get('was')})"
            case EventVerb.OVERRIDE_USED:
                return f"Override of missing milestones ({', '.join(d.get('missing', []))}): {d.get('reason')}"
            case EventVerb.EDITED:
                return "Edited " + ", ".join(f"{k}: {v['old']} → {v['new']}" for k, v in d.get("changes", {}).items())
            case EventVerb.BUYING_TEAM_CHANGED:
                return f"Buying team: {d.get('action')} {d.get('contact')} {', '.join(d.get('roles', []))}".strip()
            case EventVerb.COMPETITOR_CHANGED:
                status = f" ({d['status_label']})" if d.get("status_label") else ""
                return f"Competitor {d.get('action')}: {d.get('competitor')}{status}"
            case EventVerb.ACTIVITY_LOGGED:
                return f"Logged {d.get('kind')}: {d.get('subject')}"
            case EventVerb.CREATED:
                # An import marks the deals it wrote (transfer.services), history and all.
                imported = " (imported)" if d.get("import_id") else ""
                return f"Created in {d.get('stage_name', 'first stage')}{imported}"
        return self.get_verb_display()


def _times(count) -> str:
    """How often, as people say it: "once", "twice", "3 times"."""
    return {1: "once", 2: "twice"}.get(count, f"{count} times")


def _close_notes(data: dict, label: str) -> str:
    """The notes written when closing, as the close event's sentence ends with them."""
    notes = (data.get("notes") or "").strip()
    return f" — {label}: {notes}" if notes else ""


def _skipped(data: dict) -> str:
    """ " (from Qualify; skipped Discover)" when a deal was won before its last stage."""
    if not data.get("from_stage_name"):
        return ""
    skipped = data.get("skipped") or []
    return f" (from {data['from_stage_name']}" + (f"; skipped {', '.join(skipped)})" if skipped else ")")


# --- Account management: the plan, the known buying team and the next step, before any deal ------


class AccountPlan(models.Model):
    """What we aim to achieve with an account, whether or not a deal is open on it: written by
    whoever may change the account (`services.account_plan_update`)."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="plan")
    objectives = models.TextField(blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"Plan for {self.account}"


class AccountContactRole(models.Model):
    """A contact known to play buying roles at the account before any deal exists. A deal created
    from the account starts with them on its buying team (`services.opportunity_create_from_account`)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="contact_roles")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="account_roles")
    roles = models.JSONField(default=list, help_text="BuyingRole values.")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "contact"], name="account_team_contact_once"),
        ]

    def __str__(self) -> str:
        return f"{self.contact} at {self.account}"

    def role_labels(self) -> list[str]:
        labels = dict(BuyingRole.choices)
        return [labels.get(role, role) for role in self.roles]


class AccountNextStep(models.Model):
    """The account's one committed next step, under the same rules as a deal's `NextStep`: at most
    one open at a time, completing it commits the following one, replaced ones kept as history."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="next_steps")
    kind = models.CharField(max_length=10, choices=NextStepKind.choices, default=NextStepKind.ACTION)
    description = models.CharField(max_length=300)
    due_date = models.DateField()
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="account_next_steps")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"], condition=Q(completed_at__isnull=True), name="one_open_next_step_per_account"
            ),
        ]

    def __str__(self) -> str:
        if self.kind == NextStepKind.WAITING:
            return f"Waiting on buyer until {self.due_date:%Y-%m-%d}"
        return self.description

    @property
    def is_open(self) -> bool:
        return self.completed_at is None
