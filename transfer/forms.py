from django import forms

from stages.models import SalesProcess

from . import rows
from .fields import FIELDS, Kind
from .models import DuplicateAction
from .reading import MAX_BYTES


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label="The file holds", choices=Kind.CHOICES)
    file = forms.FileField(
        label="File",
        help_text=f"CSV (comma or semicolon; UTF-8 or Latin-1), XLSX or JSON Lines; up to {MAX_BYTES // 2**20} MB.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx,.jsonl,.ndjson,.json"}),
    )


class MappingForm(forms.Form):
    """One column choice per field of the job's kind, the sales process of deals, and what to do
    with rows that match existing records."""

    def __init__(self, *args, job, **kwargs):
        super().__init__(*args, **kwargs)
        self.job = job
        columns = [("", "— not imported —")] + [(h, h) for h in job.header if h]
        for field in FIELDS[job.kind]:
            self.fields[f"col_{field.name}"] = forms.ChoiceField(
                label=field.label,
                choices=columns,
                required=field.required,
                initial=job.mapping.get(field.name, ""),
                help_text=field.help,
            )
        if job.kind == Kind.DEALS:
            self.fields["process"] = forms.ModelChoiceField(
                label="Sales process",
                queryset=SalesProcess.objects.active(),
                initial=job.process_id,
                help_text="The process the deals follow; stage names are matched to its stages.",
            )
        else:
            self.fields["duplicates"] = forms.ChoiceField(
                label="Rows that match an existing record",
                choices=DuplicateAction.choices,
                initial=job.duplicates,
                help_text=(
                    "Accounts match by website domain or name, contacts by email; "
                    "you can choose per row in the preview."
                ),
            )

    def mapping(self) -> dict:
        return {f.name: self.cleaned_data.get(f"col_{f.name}") or "" for f in FIELDS[self.job.kind]}


class ValuesForm(forms.Form):
    """One choice per distinct value of each mapped name column (stages, owners, …)."""

    LABELS = {"stage": "Stage", "owner": "Owner", "lost_reason": "Lost reason", "competitor": "Competitor"}

    def __init__(self, *args, job, suggested: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.keys = {}
        self.groups = []
        for field_name, values in suggested.items():
            choices = [("", "— not mapped —")] + rows.value_choices(field_name, job.process)
            names = []
            for i, (value, guess) in enumerate(values.items()):
                name = f"{field_name}__{i}"
                self.fields[name] = forms.ChoiceField(
                    label=f"{self.LABELS[field_name]} “{value}”", choices=choices, required=False, initial=guess
                )
                self.keys[name] = (field_name, value)
                names.append(name)
            self.groups.append((self.LABELS[field_name], [self[n] for n in names]))

    def value_map(self) -> dict:
        result: dict = {}
        for name, (field_name, value) in self.keys.items():
            result.setdefault(field_name, {})[value] = self.cleaned_data.get(name) or ""
        return result
