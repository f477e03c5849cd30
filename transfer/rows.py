"""From the file's text rows to checked rows: each mapped column read as its field's type, the
names in it (stages, owners, lost reasons, competitors) resolved through the value mapping, and
every problem a message naming the row, the column and the value.

Nothing here writes: the plan it returns is what `transfer.services.import_commit` writes, all
or nothing.
"""

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db.models.functions import Lower

from opportunities.models import (
    AccountStatus,
    ActivityKind,
    BuyingRole,
    Competitor,
    EmployeeBand,
    LeadSource,
    LostReason,
    OpportunityStatus,
    RevenueBand,
)
from people.models import User
from stages.cleaning import clean_text
from stages.models import SalesProcess, Stage

from .fields import FIELDS, Kind

# Value-mapping targets that are not stages: a stage column's "Closed Won" is an outcome.
WON, LOST = "won", "lost"
EARLIEST = dt.date(2000, 1, 1)
MAX_AMOUNT = Decimal("1e12")

# The columns whose distinct values are mapped to objects on the values page.
VALUE_FIELDS = {
    Kind.ACCOUNTS: ("owner",),
    Kind.CONTACTS: (),
    Kind.DEALS: ("stage", "owner", "lost_reason", "competitor"),
}
# At most this many distinct values of a column are offered for mapping on the page.
MAX_DISTINCT = 200


def norm(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9@.]+", " ", (text or "").lower()).split())


# --- value mapping -------------------------------------------------------------------------------


def value_choices(field_name: str, process: SalesProcess | None) -> list[tuple[str, str]]:
    """(value, label) of what a value of `field_name` may be mapped to."""
    if field_name == "stage":
        stages = Stage.objects.filter(process=process).order_by("order", "id") if process else Stage.objects.none()
        return [(str(s.pk), s.name) for s in stages] + [(WON, "Closed won"), (LOST, "Closed lost")]
    if field_name == "owner":
        return [(str(u.pk), f"{u} ({u.email or u.username})") for u in User.objects.filter(is_active=True)]
    if field_name == "lost_reason":
        return [(str(r.pk), r.name) for r in LostReason.objects.filter(is_active=True)]
    if field_name == "competitor":
        return [(str(c.pk), c.name) for c in Competitor.objects.filter(is_active=True)]
    return []


def _stage_guess(value: str, stages: list[Stage]) -> str:
    n = norm(value).replace(" ", "")
    if n in ("closedwon", "won"):
        return WON
    if n in ("closedlost", "lost"):
        return LOST
    for stage in stages:
        if norm(stage.name).replace(" ", "") == n:
            return str(stage.pk)
    return ""


def suggest_values(field_name: str, values: list[str], process: SalesProcess | None) -> dict[str, str]:
    """{value in the file: target} for each value that matches a target by name (owners also by
    email or username); the others are left for the person to map."""
    guesses: dict[str, str] = {}
    if field_name == "stage":
        stages = list(Stage.objects.filter(process=process)) if process else []
        for value in values:
            guesses[value] = _stage_guess(value, stages)
    elif field_name == "owner":
        users = list(User.objects.filter(is_active=True))
        keys = {}
        for u in users:
            for key in (u.email, u.username, f"{u.first_name} {u.last_name}"):
                if key and norm(key):
                    keys.setdefault(norm(key), str(u.pk))
        for value in values:
            guesses[value] = keys.get(norm(value), "")
    else:
        model = LostReason if field_name == "lost_reason" else Competitor
        names = {norm(n): str(pk) for pk, n in model.objects.filter(is_active=True).values_list("pk", "name")}
        for value in values:
            guesses[value] = names.get(norm(value), "")
    return guesses


def distinct_values(header: list[str], rows: list[list[str]], column: str) -> list[str]:
    index = header.index(column)
    seen = dict.fromkeys(row[index] for row in rows if row[index])
    return sorted(seen)[:MAX_DISTINCT]


# --- reading values --------------------------------------------------------------------------------


class Bad(ValueError):
    """A cell that cannot be read as its field's type; the message says what is wrong."""


def detect_day_first(header: list[str], rows: list[list[str]], columns: list[str]) -> bool:
    """Whether slashed dates in the file are day first (12/31/2024 says month first; anything
    else is read day first, as most of the world writes it)."""
    indexes = [header.index(c) for c in columns if c in header]
    for row in rows[:5000]:
        for i in indexes:
            match = re.match(r"^(\d{1,2})[/.](\d{1,2})[/.]\d{4}", row[i])
            if match and int(match.group(2)) > 12:
                return False
    return True


def parse_date(text: str, *, day_first: bool = True) -> dt.date:
    value = text.strip()
    iso = re.match(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?$", value)
    slashed = re.match(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})(?: .*)?$", value)
    try:
        if iso:
            date = dt.date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
        elif slashed:
            a, b, year = int(slashed.group(1)), int(slashed.group(2)), int(slashed.group(3))
            date = dt.date(year, b, a) if day_first else dt.date(year, a, b)
        else:
            raise Bad(f"“{value}” is not a date (use YYYY-MM-DD)")
    except ValueError as exc:
        if isinstance(exc, Bad):
            raise
        raise Bad(f"“{value}” is not a date") from None
    if date < EARLIEST or date.year > 2100:
        raise Bad(f"“{value}” is not a sensible date")
    return date


def parse_amount(text: str) -> Decimal:
    if not text.strip():
        raise Bad("is required")
    value = re.sub(r"[^\d,.\-]", "", text.strip())
    if not value or value in "-.,":
        raise Bad(f"“{text}” is not a number")
    if "," in value and "." in value:
        decimal_mark = "," if value.rfind(",") > value.rfind(".") else "."
    elif "," in value:
        decimal_mark = "," if value.count(",") == 1 and re.search(r",\d{1,2}$", value) else ""
    else:
        decimal_mark = "." if value.count(".") == 1 else ""
    thousands = {",", "."} - {decimal_mark}
    for mark in thousands:
        value = value.replace(mark, "")
    if decimal_mark == ",":
        value = value.replace(",", ".")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise Bad(f"“{text}” is not a number") from None
    if not amount.is_finite():
        raise Bad(f"“{text}” is not a number")
    if amount < 0:
        raise Bad(f"“{text}” is negative")
    if amount >= MAX_AMOUNT:
        raise Bad(f"“{text}” is too large")
    return amount.quantize(Decimal("0.01"))


def domain_of(website: str) -> str:
    """The website's host without "www.": what two spellings of one company's site share."""
    text = (website or "").strip().lower()
    if not text:
        return ""
    if "://" not in text:
        text = "https://" + text
    host = urlsplit(text).hostname or ""
    return host.removeprefix("www.")


def _website(text: str) -> str:
    value = text.strip()
    if not value:
        return ""
    if "://" not in value:
        value = "https://" + value
    try:
        URLValidator()(value)
    except ValidationError:
        raise Bad(f"“{text}” is not a web address") from None
    return value


def _choice(text: str, choices, label: str) -> str:
    n = norm(text)
    if not n:
        return ""
    for value, choice_label in choices.choices:
        if n in (norm(value), norm(str(choice_label))):
            return value
    raise Bad(f"“{text}” is not a valid {label} (one of: {', '.join(str(c) for c in choices.labels)})")


def _employee_band(text: str) -> str:
    digits = re.sub(r"[^\d]", "", text)
    if digits and digits == text.strip().replace(",", ""):
        n = int(digits)
        for bound, band in ((10, "1-10"), (50, "11-50"), (200, "51-200"), (1000, "201-1000")):
            if n <= bound:
                return band
        return EmployeeBand.ENTERPRISE
    return _choice(text, EmployeeBand, "employee band")


def _status(text: str) -> str:
    n = norm(text).replace(" ", "")
    if not n:
        return ""
    if n in ("open", "inprogress", "active"):
        return OpportunityStatus.OPEN
    if n in ("won", "closedwon", "true", "yes", "1"):
        return OpportunityStatus.WON
    if n in ("lost", "closedlost"):
        return OpportunityStatus.LOST
    if n in ("false", "no", "0"):
        return ""
    raise Bad(f"“{text}” is not an outcome (open, won or lost)")


def _text(text: str, label: str, max_length: int, *, required: bool = False) -> str:
    value = clean_text(text)
    if required and not value:
        raise Bad(f"{label} is required")
    if len(value) > max_length:
        raise Bad(f"{label} is longer than {max_length} characters")
    return value


def _email(text: str) -> str:
    value = text.strip().lower()
    if value:
        try:
            validate_email(value)
        except ValidationError:
            raise Bad(f"“{text}” is not an email address") from None
    return value


# --- the rows ------------------------------------------------------------------------------------


@dataclass
class Row:
    """One checked row: its number in the file (the header is row 1), its cleaned values, what
    it matches already in the database, and its problems."""

    number: int
    values: dict = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    duplicate_of: int | None = None
    duplicate_label: str = ""

    def fail(self, column: str, message: str) -> None:
        self.errors.append(f"{column}: {message}." if column else f"{message}.")


@dataclass
class Context:
    """What every row of one import is checked against, loaded once."""

    kind: str
    mapping: dict
    value_map: dict
    actor: User
    process: SalesProcess | None
    day_first: bool = True
    today: dt.date | None = None
    stages: dict = field(default_factory=dict)
    ordered: list = field(default_factory=list)
    milestones: dict = field(default_factory=dict)
    owners: dict = field(default_factory=dict)
    reasons: dict = field(default_factory=dict)
    competitors: dict = field(default_factory=dict)
    accounts_by_domain: dict = field(default_factory=dict)
    accounts_by_name: dict = field(default_factory=dict)
    contacts_by_email: dict = field(default_factory=dict)


def load_context(*, kind, mapping, value_map, actor, process, header, rows, today) -> Context:
    from opportunities.models import Account, Contact

    ctx = Context(kind=kind, mapping=mapping, value_map=value_map, actor=actor, process=process, today=today)
    date_columns = [mapping[f] for f in ("expected_close_date", "created_date", "closed_date") if mapping.get(f)]
    ctx.day_first = detect_day_first(header, rows, date_columns)
    if process is not None:
        ctx.ordered = list(process.stages.order_by("order", "id"))
        ctx.stages = {s.pk: s for s in ctx.ordered}
        for stage in ctx.ordered:
            for milestone in stage.milestones.all():
                ctx.milestones.setdefault(norm(milestone.name), milestone)
                ctx.milestones.setdefault(norm(f"{stage.name}: {milestone.name}"), milestone)
    ctx.owners = {u.pk: u for u in User.objects.filter(is_active=True)}
    ctx.reasons = {r.pk: r for r in LostReason.objects.filter(is_active=True)}
    ctx.competitors = {c.pk: c for c in Competitor.objects.filter(is_active=True)}
    for pk, name, website in Account.objects.values_list("pk", "name", "website"):
        ctx.accounts_by_name.setdefault(norm(name), pk)
        if domain_of(website):
            ctx.accounts_by_domain.setdefault(domain_of(website), pk)
    for pk, email in Contact.objects.exclude(email="").annotate(e=Lower("email")).values_list("pk", "e"):
        ctx.contacts_by_email.setdefault(email, pk)
    return ctx


def check_rows(ctx: Context, header: list[str], rows: list[list[str]]) -> list[Row]:
    """Every row checked; a row with errors has them in `errors`."""
    index = {name: header.index(column) for name, column in ctx.mapping.items() if column in header}
    checker = {Kind.ACCOUNTS: _account_row, Kind.CONTACTS: _contact_row, Kind.DEALS: _deal_row}[ctx.kind]
    labels = {f.name: f.label for f in FIELDS[ctx.kind]}
    checked = []
    seen: dict[str, int] = {}
    for number, cells in enumerate(rows, start=2):
        raw = {name: cells[i] for name, i in index.items()}
        row = Row(number=number)
        checker(ctx, raw, row, labels)
        key = row.values.pop("_key", "")
        if key and not row.errors:
            if key in seen:
                row.fail("", f"the same {ctx.kind[:-1]} as row {seen[key]}")
            seen[key] = number
        checked.append(row)
    return checked


def _read(row: Row, labels: dict, name: str, reader, raw: dict, *args, **kwargs):
    try:
        return reader(raw.get(name, ""), *args, **kwargs)
    except Bad as exc:
        row.fail(labels[name], str(exc))
        return None


def _mapped(ctx: Context, row: Row, labels: dict, name: str, raw: dict, targets: dict):
    """The object the value of `name` is mapped to; an unknown or unmapped value is an error."""
    value = raw.get(name, "").strip()
    if not value:
        return None
    target = (ctx.value_map.get(name) or {}).get(value, "")
    obj = targets.get(int(target)) if str(target).isdigit() else None
    if obj is None:
        row.fail(labels[name], f"“{value}” is not mapped to a known {labels[name].lower()}")
    return obj


def _account_row(ctx: Context, raw: dict, row: Row, labels: dict) -> None:
    v = row.values
    v["name"] = _read(row, labels, "name", _text, raw, "Name", 200, required=True)
    v["website"] = _read(row, labels, "website", _website, raw) or ""
    v["industry"] = _read(row, labels, "industry", _text, raw, "Industry", 100) or ""
    v["region"] = _read(row, labels, "region", _text, raw, "Region", 100) or ""
    v["employee_band"] = _read(row, labels, "employee_band", _employee_band, raw) or ""
    v["revenue_band"] = _read(row, labels, "revenue_band", _choice, raw, RevenueBand, "revenue band") or ""
    v["status"] = _read(row, labels, "status", _choice, raw, AccountStatus, "status") or AccountStatus.TARGET
    owner = _mapped(ctx, row, labels, "owner", raw, ctx.owners)
    v["owner_id"] = owner.pk if owner else ctx.actor.pk
    if v["name"]:
        domain = domain_of(v["website"])
        match = ctx.accounts_by_domain.get(domain) if domain else None
        match = match or ctx.accounts_by_name.get(norm(v["name"]))
        if match:
            row.duplicate_of, row.duplicate_label = match, "an account with this domain or name"
        v["_key"] = domain or norm(v["name"])


def _contact_row(ctx: Context, raw: dict, row: Row, labels: dict) -> None:
    v = row.values
    v["first_name"] = _read(row, labels, "first_name", _text, raw, "First name", 100, required=True)
    v["last_name"] = _read(row, labels, "last_name", _text, raw, "Last name", 100, required=True)
    v["email"] = _read(row, labels, "email", _email, raw) or ""
    v["title"] = _read(row, labels, "title", _text, raw, "Job title", 150) or ""
    v["phone"] = _read(row, labels, "phone", _text, raw, "Phone", 50) or ""
    v["account"] = _read(row, labels, "account", _text, raw, "Account", 200, required=True)
    if v["email"]:
        match = ctx.contacts_by_email.get(v["email"])
        if match:
            row.duplicate_of, row.duplicate_label = match, "a contact with this email"
        v["_key"] = v["email"]


def _split(text: str) -> list[list[str]]:
    return [[part.strip() for part in item.split(";")] for item in text.split("|") if item.strip()]


def _deal_row(ctx: Context, raw: dict, row: Row, labels: dict) -> None:
    v = row.values
    day_first = ctx.day_first
    v["name"] = _read(row, labels, "name", _text, raw, "Deal name", 200, required=True)
    v["account"] = _read(row, labels, "account", _text, raw, "Account", 200, required=True)
    v["amount"] = _read(row, labels, "amount", parse_amount, raw)
    v["source"] = _read(row, labels, "source", _choice, raw, LeadSource, "lead source") or ""
    owner = _mapped(ctx, row, labels, "owner", raw, ctx.owners)
    v["owner_id"] = owner.pk if owner else ctx.actor.pk
    if ctx.process is None:
        row.fail("", "choose the sales process the deals belong to")
        return
    dates = {}
    for name in ("expected_close_date", "created_date", "closed_date"):
        text = raw.get(name, "").strip()
        dates[name] = _read(row, labels, name, parse_date, raw, day_first=day_first) if text else None
    status = _read(row, labels, "status", _status, raw) or ""
    stage_value = raw.get("stage", "").strip()
    stage = None
    if stage_value:
        target = (ctx.value_map.get("stage") or {}).get(stage_value, "")
        if target in (WON, LOST):
            status = status or target
        elif str(target).isdigit() and int(target) in ctx.stages:
            stage = ctx.stages[int(target)]
        else:
            row.fail(labels["stage"], f"“{stage_value}” is not mapped to a stage of {ctx.process}")
    if not status:
        status = OpportunityStatus.LOST if dates["closed_date"] else OpportunityStatus.OPEN
    v["status"] = status
    # The stages passed through, in time order, with the day each was entered.
    history = []
    for parts in _split(raw.get("stage_history", "")):
        name, when = parts[0], parts[1] if len(parts) > 1 else ""
        found = next((s for s in ctx.ordered if norm(s.name) == norm(name)), None)
        if found is None:
            target = (ctx.value_map.get("stage") or {}).get(name, "")
            found = ctx.stages.get(int(target)) if str(target).isdigit() else None
        if found is None:
            row.fail(labels["stage_history"], f"“{name}” is not a stage of {ctx.process}")
            continue
        try:
            history.append((found, parse_date(when, day_first=day_first)))
        except Bad as exc:
            row.fail(labels["stage_history"], str(exc))
    history.sort(key=lambda item: item[1])
    created = dates["created_date"] or (history[0][1] if history else None)
    closed = dates["closed_date"]
    if status != OpportunityStatus.OPEN and closed is None:
        closed = dates["expected_close_date"]
        if closed is None:
            row.fail(labels["closed_date"], "a won or lost deal needs the day it closed")
    if created is None:
        created = (closed or ctx.today) if status != OpportunityStatus.OPEN else ctx.today
    if stage is None:
        stage = history[-1][0] if history else (ctx.ordered[-1] if status == OpportunityStatus.WON else None)
        stage = stage or (ctx.ordered[0] if ctx.ordered else None)
    if stage is None:
        row.fail("", f"the sales process {ctx.process} has no stages")
        return
    if not history or history[0][1] > created:
        history.insert(0, (history[0][0] if history else stage, created))
    if history[0][1] < created:
        created = history[0][1]
    if history[-1][0] != stage:
        history.append((stage, max(history[-1][1], created)))
    if closed and closed < history[-1][1]:
        row.fail(labels["closed_date"], f"{closed:%Y-%m-%d} is before the deal's last stage change")
    if status == OpportunityStatus.OPEN:
        expected = dates["expected_close_date"]
        if expected is None:
            row.fail(labels["expected_close_date"], "an open deal needs an expected close date")
    else:
        expected = dates["expected_close_date"] or closed
    v.update(created=created, closed=closed, expected=expected, stage=stage, history=history)
    reason = _mapped(ctx, row, labels, "lost_reason", raw, ctx.reasons)
    competitor = _mapped(ctx, row, labels, "competitor", raw, ctx.competitors)
    if status == OpportunityStatus.LOST and reason is None and "lost_reason" not in ctx.mapping:
        reason = None
    if (
        status == OpportunityStatus.LOST
        and reason is None
        and not any(e.startswith(labels["lost_reason"]) for e in row.errors)
    ):
        row.fail(labels["lost_reason"], "a lost deal needs the reason it was lost")
    v["reason"], v["competitor"] = reason, competitor
    milestones = []
    for parts in _split(raw.get("milestones", "")):
        milestone = ctx.milestones.get(norm(parts[0]))
        if milestone is None:
            row.fail(labels["milestones"], f"“{parts[0]}” is not a milestone of {ctx.process}")
            continue
        try:
            when = parse_date(parts[1], day_first=day_first) if len(parts) > 1 and parts[1] else created
        except Bad as exc:
            row.fail(labels["milestones"], str(exc))
            continue
        milestones.append((milestone, max(when, created)))
    v["milestones"] = list({m.pk: (m, d) for m, d in milestones}.values())
    activities = []
    for parts in _split(raw.get("activities", "")):
        try:
            when = parse_date(parts[0], day_first=day_first)
        except Bad as exc:
            row.fail(labels["activities"], str(exc))
            continue
        kind = norm(parts[1] if len(parts) > 1 else "note").replace(" ", "_")
        if kind not in ActivityKind.values:
            row.fail(labels["activities"], f"“{parts[1]}” is not a kind of activity")
            continue
        subject = clean_text(parts[2] if len(parts) > 2 else "")[:200] or ActivityKind(kind).label
        activities.append((when, kind, subject))
    v["activities"] = activities
    team = []
    for parts in _split(raw.get("buying_team", "")):
        email = parts[0].lower()
        roles = [norm(r).replace(" ", "_") for r in (parts[1] if len(parts) > 1 else "").split(",") if r.strip()]
        bad = [r for r in roles if r not in BuyingRole.values]
        if bad or not roles:
            row.fail(labels["buying_team"], f"“{parts[1] if len(parts) > 1 else ''}” are not buying roles")
            continue
        if email not in ctx.contacts_by_email:
            row.fail(labels["buying_team"], f"no contact has the email “{email}”; import the contacts first")
            continue
        team.append((ctx.contacts_by_email[email], roles))
    v["team"] = team
    step = _read(row, labels, "next_step", _text, raw, "Next step", 300) if "next_step" in ctx.mapping else ""
    step_due = None
    if step and status == OpportunityStatus.OPEN:
        text = raw.get("next_step_due", "").strip()
        step_due = _read(row, labels, "next_step_due", parse_date, raw, day_first=day_first) if text else None
        if step_due is None and not text:
            row.fail(labels["next_step_due"], "a next step needs a due date")
    v["next_step"], v["next_step_due"] = (step, step_due) if status == OpportunityStatus.OPEN else ("", None)
