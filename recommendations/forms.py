from django import forms

from .services import REASON_MAX


class AcceptForm(forms.Form):
    """Accept a recommended step: it becomes the deal's next step."""

    step = forms.CharField(max_length=40, widget=forms.HiddenInput)


class DismissForm(forms.Form):
    """Dismiss a recommended step, saying why (kept so recommendations can be judged)."""

    step = forms.CharField(max_length=40, widget=forms.HiddenInput)
    reason = forms.CharField(max_length=REASON_MAX, label="Why not?")
