"""What can be imported: the fields of each kind of row, and the column names other CRMs'
exports give them (Salesforce, HubSpot, Pipedrive), from which the mapping is suggested."""

import re
from dataclasses import dataclass


class Kind:
    ACCOUNTS = "accounts"
    CONTACTS = "contacts"
    DEALS = "deals"
    CHOICES = [(ACCOUNTS, "Accounts"), (CONTACTS, "Contacts"), (DEALS, "Deals (open and past)")]
    VALUES = [ACCOUNTS, CONTACTS, DEALS]


@dataclass(frozen=True)
class Field:
    """One field a column can fill: its name, label, whether a row needs it, the column names
    it is known by elsewhere, and help for the mapping page."""

    name: str
    label: str
    required: bool = False
    aliases: tuple[str, ...] = ()
    help: str = ""


ACCOUNT_FIELDS = (
    Field("name", "Name", True, ("account name", "company name", "company", "organization name", "organization")),
    Field("website", "Website", False, ("company domain name", "domain", "web site", "url")),
    Field("industry", "Industry"),
    Field("region", "Region", False, ("billing country", "country region", "country", "address country", "state")),
    Field("employee_band", "Employees", False, ("number of employees", "employees", "people")),
    Field("revenue_band", "Annual revenue", False, ("annual revenue", "revenue")),
    Field("status", "Status", False, ("type", "lifecycle stage", "account type")),
    Field("owner", "Owner", False, ("account owner", "company owner", "owner name", "owner email")),
)

CONTACT_FIELDS = (
    Field("first_name", "First name", True, ("first name", "firstname", "given name")),
    Field("last_name", "Last name", True, ("last name", "lastname", "surname", "family name")),
    Field("email", "Email", False, ("email address", "email 1", "work email", "email work")),
    Field("title", "Job title", False, ("job title", "title")),
    Field("phone", "Phone", False, ("phone number", "business phone", "phone work", "mobile phone", "mobile")),
    Field(
        "account",
        "Account",
        True,
        ("account name", "company name", "associated company", "organization", "company"),
        "The account's name; created if it does not exist yet.",
    ),
)

DEAL_FIELDS = (
    Field("name", "Deal name", True, ("opportunity name", "deal name", "title", "deal")),
    Field(
        "account",
        "Account",
        True,
        ("account name", "associated company", "company name", "organization", "company"),
        "The account's name; created if it does not exist yet.",
    ),
    Field("amount", "Amount", True, ("amount", "value", "deal value", "deal amount")),
    Field("stage", "Stage", False, ("stage", "deal stage", "opportunity stage", "stage name")),
    Field("status", "Outcome", False, ("status", "won", "outcome", "deal status"), "open, won or lost."),
    Field("owner", "Owner", False, ("opportunity owner", "deal owner", "owner", "owner name")),
    Field("process", "Sales process", False, ("pipeline", "sales process", "record type")),
    Field("expected_close_date", "Expected close date", False, ("close date", "expected close date")),
    Field("created_date", "Created", False, ("created date", "create date", "deal created", "add time")),
    Field("closed_date", "Closed on", False, ("closed date", "won time", "lost time", "close time", "closed on")),
    Field(
        "source",
        "Lead source",
        False,
        ("lead source", "source", "deal source", "opportunity source", "lead channel"),
        "inbound, outbound, referral, partner, event or existing customer; empty for not set.",
    ),
    Field("lost_reason", "Lost reason", False, ("lost reason", "closed lost reason", "loss reason", "reason lost")),
    Field("competitor", "Competitor", False, ("competitor", "primary competitor", "competitors", "lost to")),
    Field(
        "stage_history",
        "Stage history",
        False,
        ("stage history", "stages"),
        "Stages passed through with entry dates: Qualify;2024-01-05|Discover;2024-02-01",
    ),
    Field(
        "milestones",
        "Milestones",
        False,
        ("milestones",),
        "Milestones completed with dates: Budget confirmed;2024-01-20|…",
    ),
    Field(
        "activities",
        "Activities",
        False,
        ("activities",),
        "Activities with dates and kinds: 2024-01-06;meeting;Kick-off|…",
    ),
    Field(
        "buying_team",
        "Buying team",
        False,
        ("buying team", "contact roles", "contacts"),
        "Contacts by email with roles: ana@acme.example;champion,economic_buyer|…",
    ),
    Field("next_step", "Next step", False, ("next step",)),
    Field("next_step_due", "Next step due", False, ("next step due", "next step date", "next activity date")),
)

FIELDS = {Kind.ACCOUNTS: ACCOUNT_FIELDS, Kind.CONTACTS: CONTACT_FIELDS, Kind.DEALS: DEAL_FIELDS}

# Export prefixes that say which object a column belongs to ("Deal - Title", "Person - Email").
_PREFIX = re.compile(r"^(deal|organization|organisation|person|contact|company|account|opportunity)\s*-\s*", re.I)


def normalise(header: str) -> str:
    """A column name without its object prefix, case, punctuation and extra spaces."""
    text = _PREFIX.sub("", header or "").lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def suggest_mapping(kind: str, header: list[str]) -> dict[str, str]:
    """{field name: column name} for each field a column's name matches: the field's own name or
    label first, then the names other CRMs give it; each column serves at most one field."""
    columns = {normalise(h): h for h in reversed(header) if h}
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for rank in (0, 1):
        for field in FIELDS[kind]:
            if field.name in mapping:
                continue
            names = (normalise(field.name), normalise(field.label)) if rank == 0 else field.aliases
            for name in names:
                column = columns.get(normalise(name))
                if column and column not in used:
                    mapping[field.name] = column
                    used.add(column)
                    break
    return mapping


def missing_required(kind: str, mapping: dict[str, str]) -> list[str]:
    return [f.label for f in FIELDS[kind] if f.required and not mapping.get(f.name)]
