from django import forms

from stages.cleaning import IdField

from ..models import FlagKind


class AttentionFilterForm(forms.Form):
    """Filters of the Needs attention page. `rep` is resolved by the view, which answers 404 for
    someone whose deals the user may not read."""

    rep = IdField(required=False, widget=forms.HiddenInput)
    kind = forms.ChoiceField(choices=[("", "Any flag"), *FlagKind.choices], required=False, label="Flag")
