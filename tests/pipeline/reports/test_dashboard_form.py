"""The dashboard filter form's widgets: what they render for good, bad and hostile input."""

import datetime as dt
from html.parser import HTMLParser

import pytest

from pipeline.reports.forms import DashboardFilterForm
from stages.models import SalesProcess

TODAY = dt.date(2026, 11, 27)


class _Elements(HTMLParser):
    """Every start tag's attributes, and the text of each <option>."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.options: list[tuple[dict, str]] = []
        self._option: dict | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "option":
            self._option = dict(attrs)
            self.options.append((self._option, ""))

    def handle_data(self, data):
        if self._option is not None:
            attrs, text = self.options[-1]
            self.options[-1] = (attrs, text + data)

    def handle_endtag(self, tag):
        if tag == "option":
            self._option = None


def parsed(form, name: str) -> _Elements:
    elements = _Elements()
    elements.feed(str(form[name]))
    return elements


def form_for(data) -> DashboardFilterForm:
    processes = [SalesProcess(pk=1, name="New <b>business</b>"), SalesProcess(pk=2, name="Renewals & upsell")]
    form = DashboardFilterForm(data, processes=processes, today=TODAY)
    form.usable()
    return form


def test_the_dates_send_back_what_was_typed_and_point_at_their_errors():
    form = form_for({"process": "abc", "start": "2026-13-01", "end": "x", "as_of": "2027-01-01", "period": "custom"})
    for name, typed in (("start", "2026-13-01"), ("end", "x"), ("as_of", "2027-01-01")):
        (tag, attrs), *_ = parsed(form, name).tags
        assert tag == "input" and attrs["type"] == "date" and attrs["name"] == name and attrs["id"] == f"id_{name}"
        assert attrs["value"] == typed
        # The template shows the message under this id.
        assert attrs["aria-invalid"] == "true" and attrs["aria-describedby"] == f"id_{name}_error"
    select = parsed(form, "process").tags[0][1]
    assert select["aria-invalid"] == "true" and select["aria-describedby"] == "id_process_error"


def test_valid_values_come_back_without_error_attributes():
    form = form_for({"process": "2", "start": "2026-01-01", "end": "2026-03-31", "period": "custom"})
    start = parsed(form, "start").tags[0][1]
    assert start["value"] == "2026-01-01" and "aria-invalid" not in start and "aria-describedby" not in start
    assert "value" not in parsed(form, "as_of").tags[0][1]
    options = parsed(form, "process").options
    assert [(a["value"], "selected" in a, text) for a, text in options] == [
        ("", False, "All processes"),
        ("1", False, "New <b>business</b>"),
        ("2", True, "Renewals & upsell"),
    ]


@pytest.mark.parametrize("data", [None, {}, {"process": "99", "start": '"><script>', "period": "custom"}])
def test_names_and_typed_text_are_escaped(data):
    form = form_for(data)
    html = "".join(str(form[name]) for name in ("process", "start", "end", "as_of"))
    assert "<b>" not in html and "<script>" not in html
    assert "New &lt;b&gt;business&lt;/b&gt;" in html and "Renewals &amp; upsell" in html
    if data and data.get("start"):
        assert parsed(form, "start").tags[0][1]["value"] == '"><script>'
