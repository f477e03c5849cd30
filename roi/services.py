"""Everything that writes ROI calculations: saving one on a deal and sharing its summary.

The calculators themselves are configuration, edited by admins in the admin site, whose forms
check every formula with `formula.parse` before it is saved (roi/admin.py).
"""

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from opportunities import services as deal_services
from opportunities.errors import AccessDenied, DomainError
from opportunities.models import ActivityKind, Contact, Opportunity

from . import formula as formulas
from .models import Calculator, Result

SHARE_NOTE_MAX = 2000


def plain(number: Decimal) -> str:
    """A number as a person writes it: 2 not 2.0000, 1000 not 1E+3."""
    return format(number.normalize(), "f")


def calculator_for(opportunity: Opportunity) -> Calculator | None:
    """The active calculator of the deal's process, its inputs prefetched (two queries)."""
    return Calculator.objects.active().filter(process_id=opportunity.process_id).prefetch_related("inputs").first()


def _clean_values(calculator: Calculator, values: Mapping[str, object]) -> dict[str, Decimal]:
    """Every input's number: a missing one takes its default; a blank or non-number is refused,
    naming the input."""
    cleaned = {}
    for item in calculator.inputs.all():
        raw = values.get(item.name, item.default)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            raise DomainError(f"Enter a number for {item.label}.", field=item.name)
        try:
            number = Decimal(str(raw).strip().replace(",", ""))
        except (InvalidOperation, ValueError):
            raise DomainError(f"{item.label} must be a number.", field=item.name) from None
        if not number.is_finite() or abs(number) > Decimal(formulas.MAX_MAGNITUDE):
            raise DomainError(f"{item.label} is too large.", field=item.name)
        cleaned[item.name] = number
    return cleaned


def result_compute(calculator: Calculator, values: Mapping[str, object]) -> tuple[dict[str, Decimal], Decimal]:
    """The cleaned inputs and the two-decimal result, or DomainError; writes nothing."""
    cleaned = _clean_values(calculator, values)
    value = formulas.compute(calculator.formula, {k: float(v) for k, v in cleaned.items()})
    return cleaned, Decimal(repr(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@transaction.atomic
def result_save(
    *, actor, opportunity: Opportunity, values: Mapping[str, object], now: dt.datetime | None = None
) -> Result:
    """Compute the deal's ROI from `values` and keep it with the deal (a new row each time: the
    history of what was calculated, by whom, with which formula)."""
    now = now or timezone.now()
    if not opportunity.can_edit(actor):
        raise AccessDenied("You can view this deal but not change it.")
    if not opportunity.is_open:
        raise DomainError("The deal is closed; reopen it to recalculate its ROI.")
    calculator = calculator_for(opportunity)
    if calculator is None:
        raise DomainError(f"The {opportunity.process.name} process has no ROI calculator.")
    cleaned, result = result_compute(calculator, values)
    return Result.objects.create(
        opportunity=opportunity,
        calculator=calculator,
        values=[
            {"name": i.name, "label": i.label, "unit": i.unit, "value": plain(cleaned[i.name])}
            for i in calculator.inputs.all()
        ],
        formula=calculator.formula,
        result_label=calculator.result_label,
        result_unit=calculator.result_unit,
        result=result,
        created_by=actor,
        created_at=now,
    )


@transaction.atomic
def result_share(
    result: Result,
    *,
    actor,
    contacts: Iterable[Contact] = (),
    note: str = "",
    now: dt.datetime | None = None,
):
    """Record that the result's one-page summary was shared (sent from the rep's own mail or
    handed over in a meeting) as a "content shared" activity on the deal, with whom."""
    note = (note or "").strip()
    if len(note) > SHARE_NOTE_MAX:
        raise DomainError(f"The note is longer than {SHARE_NOTE_MAX} characters.", field="note")
    contacts = list(contacts)
    on_team = set(result.opportunity.buying_team.values_list("contact_id", flat=True))
    strangers = [c for c in contacts if c.pk not in on_team]
    if strangers:
        raise DomainError(f"{', '.join(map(str, strangers))} are not on this deal's buying team.", field="contacts")
    unit = f" {result.result_unit}" if result.result_unit else ""
    return deal_services.activity_log(
        actor=actor,
        opportunity=result.opportunity,
        kind=ActivityKind.CONTENT_SHARED,
        subject=f"ROI summary shared: {result.result_label} {result.result:,}{unit}"[:200],
        notes=note,
        contacts=contacts,
        now=now,
    )
