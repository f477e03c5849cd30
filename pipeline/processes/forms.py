"""The sales-process editor's forms: they read the fields' types and bounds; `stages.services` applies
the rules (unique names, 2–4 milestones, who may) and says what is wrong."""

from django import forms

from stages import services
from stages.cleaning import NameField
from stages.models import ForecastCategory

LONG_TEXT = forms.Textarea(attrs={"rows": 3})


def _days(label: str) -> forms.IntegerField:
    return forms.IntegerField(label=label, min_value=0, max_value=services.MAX_DAYS)


class ProcessForm(forms.Form):
    name = NameField(max_length=100)
    description = forms.CharField(max_length=services.MAX_LONG_TEXT, required=False, widget=LONG_TEXT, strip=True)


class StageAddForm(forms.Form):
    name = NameField(max_length=100, label="Stage name")
    objective = NameField(max_length=300, required=False, help_text="What the seller must achieve here.")


class StageForm(forms.Form):
    name = NameField(max_length=100)
    objective = NameField(max_length=300, required=False, help_text="What the seller must achieve here.")
    guidance = forms.CharField(
        max_length=services.MAX_LONG_TEXT,
        required=False,
        widget=LONG_TEXT,
        help_text="Coaching shown on the deal while it is in this stage.",
    )
    win_probability = forms.IntegerField(label="Win probability (%)", min_value=0, max_value=100)
    forecast_category = forms.ChoiceField(choices=ForecastCategory.choices)
    stuck_after_days = _days("Stuck after (days)")
    idle_after_days = _days("Idle after (days)")
    slip_push_limit = _days("Slipped after (pushes)")
    buying_team_touch_days = _days("Buying-team touch (days)")


class MilestoneForm(forms.Form):
    name = NameField(max_length=150, label="Milestone name")
    description = forms.CharField(max_length=services.MAX_LONG_TEXT, required=False, widget=LONG_TEXT)
    is_required = forms.BooleanField(
        required=False, initial=True, label="Required", help_text="Required milestones gate moving past the stage."
    )


class DirectionForm(forms.Form):
    direction = forms.ChoiceField(choices=[("up", "Up"), ("down", "Down")])
