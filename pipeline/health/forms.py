from django import forms

from ..models import FlagKind


class AttentionFilterForm(forms.Form):
    """Filters of the Needs attention page. `rep` is resolved by the view, which answers 404 for
    someone whose deals the user may not read."""

    rep = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    kind = forms.ChoiceField(choices=[("", "Any flag"), *FlagKind.choices], required=False, label="Flag")
