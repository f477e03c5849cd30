"""Forms check the shape of input (types, lengths, choices); the rules live in services."""

from django import forms

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
    LostReason,
    OpportunityStatus,
    RevenueBand,
)


class DateInput(forms.DateInput):
    input_type = "date"


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"


class OpportunityForm(forms.Form):
    account = forms.ModelChoiceField(queryset=Account.objects.none())
    process = forms.ModelChoiceField(queryset=SalesProcess.objects.none(), label="Sales process")
    name = NameField(max_length=200)
    amount = forms.DecimalField(min_value=0, max_digits=14, decimal_places=2)
    expected_close_date = forms.DateField(widget=DateInput)
    owner = forms.ModelChoiceField(queryset=None, required=False, help_text="Leave empty to own it yourself.")
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
    version = IdField(widget=forms.HiddenInput)
    name = NameField(max_length=200)
    amount = forms.DecimalField(min_value=0, max_digits=14, decimal_places=2)
    expected_close_date = forms.DateField(widget=DateInput)
    owner = forms.ModelChoiceField(queryset=None, required=False)

    def __init__(self, *args, owner_choices=None, **kwargs):
        super().__init__(*args, **kwargs)
        if owner_choices is None:
            del self.fields["owner"]
        else:
            self.fields["owner"].queryset = owner_choices
            self.fields["owner"].required = True


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


class ReopenForm(forms.Form):
    version = _version_field()


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


class DealFilterForm(forms.Form):
    SORTS = {
        "close": ("expected_close_date", "id"),
        "-close": ("-expected_close_date", "-id"),
        "amount": ("amount", "id"),
        "-amount": ("-amount", "-id"),
        "name": ("name", "id"),
        "stage": ("stage__order", "id"),
        "next_step": ("next_step__due_date", "id"),
        "updated": ("-updated_at", "-id"),
    }
    q = forms.CharField(required=False, max_length=100, label="Search")
    process = forms.ModelChoiceField(queryset=SalesProcess.objects.all(), required=False)
    stage = StageChoiceField(
        queryset=Stage.objects.select_related("process").order_by("process__name", "order"), required=False
    )
    close_month = forms.CharField(required=False, label="Close month", widget=forms.TextInput(attrs={"type": "month"}))
    status = forms.ChoiceField(choices=[("", "Any"), *OpportunityStatus.choices], required=False)
    scope = forms.ChoiceField(choices=[("mine", "Mine"), ("all", "All I can see")], required=False)
    sort = forms.ChoiceField(choices=[(k, k) for k in SORTS], required=False)

    def clean_close_month(self):
        value = self.cleaned_data.get("close_month") or ""
        if not value:
            return None
        try:
            year, month = (int(part) for part in value.split("-"))
            if not (2000 <= year <= 2100 and 1 <= month <= 12):
                raise ValueError
        except ValueError:
            raise forms.ValidationError("Close month must look like 2026-03.") from None
        return year, month
