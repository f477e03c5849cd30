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
        self.fields["decisive_milestone"].queryset = Milestone.objects.filter(
            stage__process_id=review.opportunity.process_id
        ).select_related("stage")
        self.fields["decisive_milestone"].label_from_instance = lambda m: f"{m.stage.name}: {m.name}"

    def service_fields(self) -> dict:
        data = dict(self.cleaned_data)
        data["competitor_decisive"] = {"yes": True, "no": False}.get(data["competitor_decisive"])
        return data


class LessonForm(forms.Form):
    text = NameField(max_length=LESSON_MAX, required=False, label="Lesson")
    stage = forms.ModelChoiceField(queryset=None, required=False)
    milestone = forms.ModelChoiceField(queryset=None, required=False)
    industry = NameField(max_length=100, required=False)
    competitor = forms.ModelChoiceField(queryset=Competitor.objects.all(), required=False)
    buying_role = forms.ChoiceField(choices=[("", "Any role"), *BuyingRole.choices], required=False)

    def __init__(self, *args, review, **kwargs):
        super().__init__(*args, **kwargs)
        process_id = review.opportunity.process_id
        self.fields["stage"].queryset = Stage.objects.filter(process_id=process_id)
        self.fields["milestone"].queryset = Milestone.objects.filter(stage__process_id=process_id).select_related(
            "stage"
        )
        self.fields["milestone"].label_from_instance = lambda m: f"{m.stage.name}: {m.name}"

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
