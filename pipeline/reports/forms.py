import datetime as dt

from django import forms

from stages.cleaning import IdField

from .dashboard import PERIODS

EARLIEST = dt.date(2000, 1, 1)
MAX_SPAN_DAYS = 5 * 366


class DashboardFilterForm(forms.Form):
    """The dashboard's filters. Team and rep are plain ids: the view resolves them against
    what the viewer may see and answers 404 for anything else. A field that fails to validate
    falls back to its default (see `usable`), so the page always renders. The filter bar renders
    the process select and the dates through their widgets: a field that failed carries
    `aria-invalid` and `aria-describedby="id_<name>_error"`, the id of its message on the page."""

    process = forms.TypedChoiceField(label="Process", coerce=int, required=False, empty_value=None)
    period = forms.ChoiceField(label="Period", choices=list(PERIODS.items()), required=False)
    start = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    end = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    team = IdField(required=False)
    rep = IdField(required=False)
    as_of = forms.DateField(
        label="As of", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

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


class QuotaForm(forms.Form):
    year = forms.IntegerField(min_value=2000, max_value=2100)
    quarter = forms.IntegerField(min_value=1, max_value=4)
    amount = forms.DecimalField(label="Quota", min_value=0, max_digits=14, decimal_places=2)


class QuotaQuarterForm(forms.Form):
    year = forms.IntegerField(min_value=2000, max_value=2100, required=False)
    quarter = forms.IntegerField(min_value=1, max_value=4, required=False)
