"""Forms check the shape of a review's input; the rules live in `postmortem.services`."""

from django import forms

from opportunities.models import BuyingRole, Competitor
from stages.cleaning import NameField
from stages.models import Milestone, Stage

from .services import LESSON_MAX, MAX_LESSONS, TEXT_MAX, reasons_for

DECISIVE_CHOICES = [("", "Not answered"), ("yes", "Yes"), ("no", "No")]


class ReviewForm(forms.Form):
    """What the owner writes; the facts above it come from the deal's history."""

    primary_reason = forms.ModelChoiceField(queryset=None, required=False)
    secondary_reason = forms.ModelChoiceField(queryset=None, required=False)
    decisive_milestone = forms.ModelChoiceField(
        queryset=None, required=False, help_text="The point where the deal was decided."
    )
    competitor_decisive = forms.ChoiceField(
        choices=DECISIVE_CHOICES, required=False, label="Was the competitor decisive?"
    )
    went_right = forms.CharField(required=False, max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 3}))
    went_wrong = forms.CharField(required=False, max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, review, **kwargs):
        super().__init__(*args, **kwargs)
        keep = (review.primary_reason_id, review.secondary_reason_id)
        for name in ("primary_reason", "secondary_reason"):
            self.fields[name].queryset = reasons_for(review.outcome, keep=keep)
        self.fields["decisive_milestone"].queryset = (
            Milestone.objects.live(keep=(review.decisive_milestone_id,))
            .filter(stage__process_id=review.opportunity.process_id)
            .select_related("stage")
        )
        self.fields["decisive_milestone"].label_from_instance = lambda m: f"{m.stage.name}: {m.name}"

    def service_fields(self) -> dict:
        data = dict(self.cleaned_data)
        data["competitor_decisive"] = {"yes": True, "no": False}.get(data["competitor_decisive"])
        return data


class _RowChoiceField(forms.TypedChoiceField):
    """A choice of one of a few rows loaded once for the whole formset (a ModelChoiceField would
    query its table again for every lesson row it renders); cleans to the row itself."""

    def __init__(self, *, rows: dict, label_of=str, empty: str = "—", **kwargs):
        self.rows = rows
        choices = [("", empty), *((str(pk), label_of(row)) for pk, row in rows.items())]
        super().__init__(choices=choices, coerce=self._row, empty_value=None, **kwargs)

    def _row(self, value):
        row = self.rows.get(int(value))
        if row is None:  # `has_changed` coerces before any validation: refuse, never fail
            raise ValueError(value)
        return row


def lesson_choices(review) -> dict:
    """The rows a lesson may be tagged with, loaded once per formset."""
    process_id = review.opportunity.process_id
    return {
        "stages": {s.pk: s for s in Stage.objects.filter(process_id=process_id).order_by("order", "id")},
        "milestones": {
            m.pk: m
            for m in Milestone.objects.live(keep=review.lessons.values_list("milestone_id", flat=True))
            .filter(stage__process_id=process_id)
            .select_related("stage")
            .order_by("stage__order", "order", "id")
        },
        "competitors": {c.pk: c for c in Competitor.objects.filter(is_active=True).order_by("name", "id")},
    }


class LessonForm(forms.Form):
    text = NameField(max_length=LESSON_MAX, required=False, label="Lesson")
    industry = NameField(max_length=100, required=False)
    buying_role = forms.ChoiceField(choices=[("", "Any role"), *BuyingRole.choices], required=False)

    def __init__(self, *args, choices: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"] = _RowChoiceField(rows=choices["stages"], required=False, label="Stage")
        self.fields["milestone"] = _RowChoiceField(
            rows=choices["milestones"],
            required=False,
            label="Milestone",
            label_of=lambda m: f"{m.stage.name}: {m.name}",
        )
        self.fields["competitor"] = _RowChoiceField(rows=choices["competitors"], required=False, label="Competitor")
        self.order_fields(["text", "stage", "milestone", "industry", "competitor", "buying_role"])

    def clean(self):
        data = super().clean()
        if data.get("text") and not data.get("stage"):
            self.add_error("stage", "Tag the lesson with the stage it applies to.")
        return data


LessonFormSet = forms.formset_factory(LessonForm, extra=2, max_num=MAX_LESSONS, validate_max=True)


def lessons_of(formset) -> list[dict]:
    """The filled-in lessons of a valid formset (empty rows are left out)."""
    return [form.cleaned_data for form in formset.forms if form.cleaned_data.get("text")]


class DecideForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", "Accept"), ("request_changes", "Request changes")])
    comments = forms.CharField(required=False, max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 3}))


class QueueFilterForm(forms.Form):
    state = forms.ChoiceField(required=False, choices=[("", "Every state")])

    def __init__(self, *args, **kwargs):
        from .models import ReviewState

        super().__init__(*args, **kwargs)
        self.fields["state"].choices = [("", "Every state"), *ReviewState.choices]
