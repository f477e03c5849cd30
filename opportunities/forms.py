"""Forms check the shape of input (types, lengths, choices); the rules live in services."""

import datetime as dt

from django import forms
from django.utils import timezone

from stages.cleaning import IdField, ModelMultipleIdField, NameField
from stages.models import SalesProcess, Stage

from .models import (
    Account,
    AccountStatus,
    ActivityKind,
    BuyingRole,
    Competitor,
    Contact,
    DealCompetitorStatus,
    EmployeeBand,
    LeadSource,
    LostReason,
    RevenueBand,
)


class DateInput(forms.DateInput):
    input_type = "date"


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"


class StageChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.process.name} · {obj.name}"


# Blank first: the deals whose source nobody knows (and every deal from before it was asked for).
SOURCE_CHOICES = [("", "Not set"), *LeadSource.choices]


class OpportunityForm(forms.Form):
    # Picked with the type-ahead (`_account_picker.html`), never listed in full.
    account = forms.ModelChoiceField(queryset=Account.objects.none(), widget=forms.HiddenInput)
    process = forms.ModelChoiceField(queryset=SalesProcess.objects.none(), label="Sales process")
    name = NameField(max_length=200)
    amount = forms.DecimalField(min_value=0, max_digits=14, decimal_places=2)
    expected_close_date = forms.DateField(widget=DateInput)
    owner = forms.ModelChoiceField(queryset=None, required=False, help_text="Leave empty to own it yourself.")
    source = forms.ChoiceField(choices=SOURCE_CHOICES, required=False, label="Lead source")
    next_step_description = NameField(max_length=300, required=False, label="Next step")
    next_step_due_date = forms.DateField(required=False, widget=DateInput, label="Next step due")

    def __init__(self, *args, user, owner_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = Account.objects.for_user(user)
        self.fields["process"].queryset = SalesProcess.objects.active()
        self.fields["owner"].queryset = owner_choices
        if owner_choices.count() <= 1:
            del self.fields["owner"]

    def clean(self):
        data = super().clean()
        if bool(data.get("next_step_description")) != bool(data.get("next_step_due_date")):
            raise forms.ValidationError("Give the next step both a description and a due date, or neither.")
        return data


class OpportunityEditForm(forms.Form):
    """The deal's details. The fields after the close date are optional: left out (an older
    page, a script), each keeps the deal's current value."""

    version = IdField(widget=forms.HiddenInput)
    name = NameField(max_length=200)
    amount = forms.DecimalField(min_value=0, max_digits=14, decimal_places=2)
    expected_close_date = forms.DateField(widget=DateInput)
    description = forms.CharField(required=False, max_length=10000, widget=forms.Textarea(attrs={"rows": 4}))
    source = forms.ChoiceField(choices=SOURCE_CHOICES, required=False, label="Lead source")
    owner = forms.ModelChoiceField(queryset=None, required=False)
    # Picked with the type-ahead (`_account_picker.html`), never listed in full.
    account = forms.ModelChoiceField(queryset=Account.objects.none(), required=False, widget=forms.HiddenInput)
    process = forms.ModelChoiceField(queryset=SalesProcess.objects.none(), required=False, label="Sales process")
    to_stage = StageChoiceField(
        queryset=Stage.objects.none(),
        required=False,
        label="Stage in that process",
        help_text="When you change the sales process: the stage of the new process the deal lands in.",
    )
    override_reason = forms.CharField(
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Override reason (managers and admins, only if milestones are missing)",
    )

    # The fields that may be left out of a POST, each then keeping the deal's current value.
    OPTIONAL = ("description", "source", "owner", "account", "process", "to_stage", "override_reason")

    def __init__(self, *args, owner_choices=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if owner_choices is None:
            del self.fields["owner"]
        else:
            self.fields["owner"].queryset = owner_choices
        if user is None:
            for name in ("account", "process", "to_stage", "override_reason"):
                del self.fields[name]
            return
        self.fields["account"].queryset = Account.objects.for_user(user)
        self.fields["process"].queryset = SalesProcess.objects.active()
        self.fields["to_stage"].queryset = (
            Stage.objects.filter(process__is_active=True).select_related("process").order_by("process__name", "order")
        )
        if not (user.is_admin or user.is_manager):
            del self.fields["override_reason"]

    def given(self) -> dict:
        """The cleaned optional fields that the POST carried (absent ones keep their values)."""
        return {
            name: self.cleaned_data.get(name) for name in self.OPTIONAL if name in self.fields and name in self.data
        }


def _version_field():
    """The deal's version the page was rendered at: a move or close from a stale page is refused
    (optional, so that callers who do not know it are not checked, as in the API)."""
    return forms.IntegerField(required=False, min_value=1, max_value=2**31 - 1, widget=forms.HiddenInput)


class MoveForm(forms.Form):
    version = _version_field()
    to_stage = forms.ModelChoiceField(queryset=Stage.objects.none(), label="Move to stage")
    override_reason = forms.CharField(
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Override reason (managers and admins)",
    )

    def __init__(self, *args, opportunity, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_stage"].queryset = opportunity.process.stages.exclude(pk=opportunity.stage_id)


def _active_competitors():
    return Competitor.objects.filter(is_active=True)


class CloseWonForm(forms.Form):
    version = _version_field()
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=5000)
    beaten = ModelMultipleIdField(queryset=_active_competitors(), required=False, label="Competitors beaten")
    override_reason = forms.CharField(
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Override reason (managers and admins)",
    )


class CloseLostForm(forms.Form):
    version = _version_field()
    reason = forms.ModelChoiceField(queryset=LostReason.objects.filter(is_active=True), label="Lost reason")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=5000)
    lost_to = forms.ModelChoiceField(queryset=_active_competitors(), required=False, label="Lost to")


class DealCompetitorForm(forms.Form):
    competitor = forms.ModelChoiceField(queryset=Competitor.objects.all())
    status = forms.ChoiceField(choices=DealCompetitorStatus.choices, initial=DealCompetitorStatus.EVALUATING)


class MilestoneToggleForm(forms.Form):
    done = forms.BooleanField(required=False)
    evidence = forms.CharField(max_length=500, required=False)


class NextStepForm(forms.Form):
    description = NameField(max_length=300, required=False, label="Next step")
    due_date = forms.DateField(required=False, widget=DateInput, label="Due")
    waiting_until = forms.DateField(required=False, widget=DateInput, label="Or: waiting on buyer until")

    def clean(self):
        data = super().clean()
        waiting = data.get("waiting_until")
        if waiting and (data.get("description") or data.get("due_date")):
            raise forms.ValidationError("Either commit a next step with a due date, or wait on the buyer — not both.")
        if not waiting and not (data.get("description") and data.get("due_date")):
            raise forms.ValidationError(
                "Say what the next step is and when it is due, or until when you wait on the buyer."
            )
        return data


class CompleteStepForm(NextStepForm):
    """Completing a step says what follows: a next step, waiting on the buyer until a date, or
    the deal is closing. `then` comes from the button pressed; without it (older pages, scripts)
    the fields decide, as in `NextStepForm`."""

    then = forms.ChoiceField(
        choices=[("", "—"), ("next", "A following step"), ("waiting", "Waiting on the buyer"), ("closing", "Closing")],
        required=False,
        widget=forms.HiddenInput,
    )

    def clean(self):
        then = self.cleaned_data.get("then")
        if then == "closing":
            # The other fields may hold what was typed before choosing: closing needs none of them.
            self.cleaned_data.update(description="", due_date=None, waiting_until=None)
            return self.cleaned_data
        if then == "waiting":
            if not self.cleaned_data.get("waiting_until"):
                raise forms.ValidationError("Say until when you wait on the buyer.")
            self.cleaned_data.update(description="", due_date=None)
            return self.cleaned_data
        return super().clean()


class ReopenForm(NextStepForm):
    """Reopening asks for the deal's next step (closing finished the old one)."""

    version = _version_field()


class ActivityForm(forms.Form):
    kind = forms.ChoiceField(choices=ActivityKind.choices)
    subject = NameField(max_length=200)
    occurred_at = forms.DateTimeField(required=False, widget=DateTimeInput, label="When")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=10000)
    contacts = ModelMultipleIdField(
        queryset=Contact.objects.none(), required=False, widget=forms.CheckboxSelectMultiple, label="Who took part"
    )

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contacts"].queryset = account.contacts.all()


class BuyingTeamForm(forms.Form):
    contact = forms.ModelChoiceField(queryset=Contact.objects.none(), required=False, label="Existing contact")
    first_name = NameField(max_length=100, required=False, label="Or new contact: first name")
    last_name = NameField(max_length=100, required=False)
    title = NameField(max_length=150, required=False)
    email = forms.EmailField(required=False)
    roles = forms.MultipleChoiceField(choices=BuyingRole.choices, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = account.contacts.all()

    def clean(self):
        data = super().clean()
        new = data.get("first_name") or data.get("last_name")
        if data.get("contact") and new:
            raise forms.ValidationError("Pick an existing contact or enter a new one, not both.")
        if not data.get("contact") and not new:
            raise forms.ValidationError("Pick an existing contact or enter a new one.")
        return data


class AccountForm(forms.Form):
    name = NameField(max_length=200)
    website = forms.URLField(required=False, assume_scheme="https")
    industry = NameField(max_length=100, required=False)
    employee_band = forms.ChoiceField(choices=[("", "—"), *EmployeeBand.choices], required=False)
    region = NameField(max_length=100, required=False)
    revenue_band = forms.ChoiceField(choices=[("", "—"), *RevenueBand.choices], required=False)
    status = forms.ChoiceField(choices=AccountStatus.choices)
    owner = forms.ModelChoiceField(queryset=None, required=False, help_text="Who looks after the account.")

    def __init__(self, *args, owner_choices=None, **kwargs):
        super().__init__(*args, **kwargs)
        if owner_choices is None:  # only managers and admins hand accounts on
            del self.fields["owner"]
        else:
            self.fields["owner"].queryset = owner_choices


class ContactForm(forms.Form):
    first_name = NameField(max_length=100)
    last_name = NameField(max_length=100)
    title = NameField(max_length=150, required=False)
    email = forms.EmailField(required=False)
    phone = forms.CharField(max_length=50, required=False)


class StageChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.process.name} · {obj.name}"


MONTHS_BACK, MONTHS_AHEAD = 12, 24


class MonthSelect(forms.Select):
    """The close-month filter as a plain <select> of months: `<input type=month>` renders as a
    bare text box in some browsers. A month outside the list (typed into the URL) is offered too,
    so the select always shows the filter in force."""

    def __init__(self, *, today: dt.date | None = None):
        super().__init__()
        self.today = today

    def months(self, current) -> list[tuple[str, str]]:
        today = self.today or timezone.localdate()
        start = today.year * 12 + today.month - 1 - MONTHS_BACK
        values = [(n // 12, n % 12 + 1) for n in range(start, start + MONTHS_BACK + MONTHS_AHEAD + 1)]
        choices = [(f"{y:04d}-{m:02d}", dt.date(y, m, 1).strftime("%b %Y")) for y, m in values]
        if current and current not in dict(choices):
            choices.append((current, current))
        return [("", "Any month"), *choices]

    def get_context(self, name, value, attrs):
        self.choices = self.months(value if isinstance(value, str) else "")
        return super().get_context(name, value, attrs)


class ReassignForm(forms.Form):
    """Hand a deal to someone else (the people the user may assign deals to)."""

    owner = forms.ModelChoiceField(queryset=None, label="New owner")

    def __init__(self, *args, owner_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owner_choices


class BulkActionForm(forms.Form):
    """A bulk action on deals selected on My deals: which (the button pressed), on which deals,
    and what it needs (a new owner, a stage, a lost reason). The services check the rest."""

    ACTIONS = [
        ("reassign", "Reassign"),
        ("move", "Move"),
        ("close_lost", "Close lost"),
        ("export", "Export CSV"),
    ]
    action = forms.ChoiceField(choices=ACTIONS)
    ids = ModelMultipleIdField(queryset=None, label="Deals")
    owner = forms.ModelChoiceField(queryset=None, required=False, label="New owner")
    to_stage = StageChoiceField(
        queryset=Stage.objects.select_related("process").order_by("process__name", "order", "id"),
        required=False,
        label="Move to stage",
    )
    reason = forms.ModelChoiceField(
        queryset=LostReason.objects.filter(is_active=True), required=False, label="Lost reason"
    )
    notes = forms.CharField(required=False, max_length=5000, label="Notes")
    query = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)

    NEEDS = {
        "reassign": ("owner", "Choose who gets the deals."),
        "move": ("to_stage", "Choose a stage."),
        "close_lost": ("reason", "Choose why the deals were lost."),
    }

    def __init__(self, *args, deals, owner_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ids"].queryset = deals
        self.fields["owner"].queryset = owner_choices

    def clean(self):
        data = super().clean()
        need = self.NEEDS.get(data.get("action"))
        if need and not data.get(need[0]):
            self.add_error(need[0], need[1])
        return data


# --- account management --------------------------------------------------------------------------


class AccountPlanForm(forms.Form):
    objectives = forms.CharField(required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 4}))


class AccountDealForm(OpportunityForm):
    """A new deal on a given account: the account comes from the page, not the form."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["account"]
