import datetime as dt
from functools import cached_property

from django import forms
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from stages.cleaning import IdField

from .dashboard import PERIODS

EARLIEST = dt.date(2000, 1, 1)
MAX_SPAN_DAYS = 5 * 366


class DashboardFilterForm(forms.Form):
    """The dashboard's filters. Team and rep are plain ids: the view resolves them against
    what the viewer may see and answers 404 for anything else. A field that fails to validate
    falls back to its default (see `usable`), so the page always renders."""

    process = forms.TypedChoiceField(label="Process", coerce=int, required=False, empty_value=None)
    period = forms.ChoiceField(label="Period", choices=list(PERIODS.items()), required=False)
    start = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    team = IdField(required=False)
    rep = IdField(required=False)
    as_of = forms.DateField(label="As of", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, data=None, *, processes, today: dt.date):
        super().__init__(data)
        self.today = today
        self.fields["process"].choices = [("", "All processes"), *((p.pk, p.name) for p in processes)]

    def clean_as_of(self):
        value = self.cleaned_data["as_of"]
        if value is not None and value > self.today:
            raise forms.ValidationError("“As of” cannot be in the future; leave it empty for today’s pipeline.")
        if value is not None and value < EARLIEST:
            raise forms.ValidationError(f"“As of” cannot be before {EARLIEST:%Y-%m-%d}.")
        return value

    def clean(self):
        data = super().clean()
        if data.get("period") != "custom":
            return data
        start, end = data.get("start"), data.get("end")
        if "start" in self.errors or "end" in self.errors:
            return data
        if start is None or end is None:
            self.add_error("start" if start is None else "end", "Custom dates need both “From” and “To”.")
        elif start > end:
            self.add_error("end", "“To” must be on or after “From”.")
        elif start < EARLIEST:
            self.add_error("start", f"“From” cannot be before {EARLIEST:%Y-%m-%d}.")
        elif (end - start).days > MAX_SPAN_DAYS:
            self.add_error("end", "Choose at most five years.")
        return data

    def usable(self) -> dict:
        """The valid values, with every invalid or missing one at its default."""
        values = {
            "process": None,
            "period": "this_quarter",
            "start": None,
            "end": None,
            "team": None,
            "rep": None,
            "as_of": None,
        }
        if not self.is_bound:
            return values
        self.is_valid()
        for name, value in self.cleaned_data.items():
            if value not in (None, ""):
                values[name] = value
        if values["period"] == "custom" and (
            values["start"] is None or values["end"] is None or {"start", "end"} & set(self.errors)
        ):
            values["period"] = "this_quarter"
        return values

    @cached_property
    def inputs(self) -> dict[str, SafeString]:
        """The process select and the three date inputs as HTML, for the filter bar: what the
        widgets would render (the value sent back, `aria-invalid` and the error's id when it
        failed), without a template render for each widget and option, which cost more
        than the dashboard's smaller queries."""
        html = {}
        for name in ("start", "end", "as_of"):
            html[name] = mark_safe(f'<input type="date" name="{name}"{self._value_and_error(name)} id="id_{name}">')  # noqa: S308
        chosen = self["process"].value()
        chosen = "" if chosen is None else str(chosen)
        options = "".join(
            f'<option value="{escape(value)}"{" selected" if str(value) == chosen else ""}>{escape(label)}</option>'
            for value, label in self.fields["process"].choices
        )
        html["process"] = mark_safe(  # noqa: S308 — escaped values in our markup
            f'<select name="process"{self._value_and_error("process", value=False)} id="id_process">{options}</select>'
        )
        return html

    def _value_and_error(self, name: str, *, value: bool = True) -> str:
        attrs = ""
        if value:
            sent = self[name].value()
            if sent not in (None, ""):
                shown = sent.isoformat() if isinstance(sent, dt.date) else str(sent)
                attrs += f' value="{escape(shown)}"'
        if self.is_bound and self.errors.get(name):
            attrs += f' aria-invalid="true" aria-describedby="id_{name}_error"'
        return attrs


class QuotaForm(forms.Form):
    year = forms.IntegerField(min_value=2000, max_value=2100)
    quarter = forms.IntegerField(min_value=1, max_value=4)
    amount = forms.DecimalField(label="Quota", min_value=0, max_digits=14, decimal_places=2)


class QuotaQuarterForm(forms.Form):
    year = forms.IntegerField(min_value=2000, max_value=2100, required=False)
    quarter = forms.IntegerField(min_value=1, max_value=4, required=False)
