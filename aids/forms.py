"""The library's forms: they check shapes and pick rows; the rules live in `aids.services`."""

from django import forms

from opportunities.models import BuyingRole, Competitor
from stages.cleaning import IdField, ModelMultipleIdField
from stages.models import Milestone, SalesProcess, Stage

from .models import AidKind, AidSource, AidStatus, ShareChannel, SizeBand

TAG_FIELDS = ("processes", "stages", "milestones", "competitors", "buyer_roles", "industries", "size_bands")


class AidTagsForm(forms.Form):
    title = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=AidKind.choices)
    summary = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=2000)
    processes = ModelMultipleIdField(
        queryset=SalesProcess.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None: every process.",
    )
    stages = ModelMultipleIdField(
        queryset=Stage.objects.select_related("process").order_by("process__name", "order"), required=False
    )
    milestones = ModelMultipleIdField(
        queryset=Milestone.objects.live()
        .select_related("stage__process")
        .order_by("stage__process__name", "stage__order", "order"),
        required=False,
    )
    competitors = ModelMultipleIdField(queryset=Competitor.objects.filter(is_active=True), required=False)
    buyer_roles = forms.MultipleChoiceField(
        choices=BuyingRole.choices, required=False, widget=forms.CheckboxSelectMultiple, label="Buyer roles"
    )
    industries = forms.CharField(
        required=False, max_length=1000, help_text="Comma-separated; none: every industry.", label="Industries"
    )
    size_bands = forms.MultipleChoiceField(
        choices=SizeBand.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Deal size bands",
        help_text="None: every deal size.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stages"].label_from_instance = lambda s: f"{s.process.name}: {s.name}"
        self.fields["milestones"].label_from_instance = lambda m: f"{m.stage.process.name}: {m.stage.name}: {m.name}"

    def tags(self) -> dict:
        data = self.cleaned_data
        tags = {k: list(data.get(k) or []) for k in TAG_FIELDS if k != "industries"}
        tags["industries"] = [i.strip() for i in (data.get("industries") or "").split(",") if i.strip()]
        return tags

    def meta(self) -> dict:
        return {k: self.cleaned_data[k] for k in ("title", "kind", "summary")}


class ContentForm(forms.Form):
    source = forms.ChoiceField(choices=AidSource.choices, widget=forms.RadioSelect, label="Content")
    file = forms.FileField(required=False, help_text="PDF, Office, image or text file, up to 10 MB.")
    url = forms.CharField(required=False, max_length=500, label="Link", widget=forms.URLInput)
    body = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 10}), label="Text", help_text="Markdown; no HTML."
    )

    def content(self) -> dict:
        return {k: self.cleaned_data.get(k) for k in ("source", "file", "url", "body")}


class AidCreateForm(AidTagsForm, ContentForm):
    publish = forms.BooleanField(required=False, label="Publish now")


class VersionForm(ContentForm):
    note = forms.CharField(required=False, max_length=300, label="What changed")


class LibraryFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    kind = forms.ChoiceField(choices=[("", "Any kind"), *AidKind.choices], required=False)
    status = forms.ChoiceField(choices=[("", "Any status"), *AidStatus.choices], required=False)
    stage = IdField(required=False, widget=forms.HiddenInput)


class ShareForm(forms.Form):
    aid = IdField(label="Aid")
    version = IdField(required=False, label="Version")
    contacts = forms.MultipleChoiceField(choices=[], widget=forms.CheckboxSelectMultiple, label="Share with")
    channel = forms.ChoiceField(
        choices=ShareChannel.choices, widget=forms.RadioSelect, initial=ShareChannel.RECORDED, label="How"
    )
    message = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, team=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contacts"].choices = [
            (str(m.contact_id), f"{m.contact} ({', '.join(m.role_labels()) or 'no role'})") for m in team
        ]


class PlaybookForm(forms.Form):
    how_to_run = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), label="How to run it", max_length=50_000)
    questions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), label="What to ask", required=False, max_length=50_000
    )
    avoid = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), label="What to avoid", required=False, max_length=50_000
    )
