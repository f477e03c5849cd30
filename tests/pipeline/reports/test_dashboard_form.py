"""The dashboard filter form's hand-built inputs against what Django's widgets render."""

import datetime as dt
import re

import pytest

from pipeline.reports.forms import DashboardFilterForm
from stages.models import SalesProcess

TODAY = dt.date(2026, 11, 27)


def widget_html(form, name: str) -> str:
    # Django's select template puts newlines between the options; the markup is otherwise the same.
    return re.sub(r">\s+<", "><", str(form[name]))


@pytest.mark.parametrize(
    "data",
    [
        None,
        {},
        {"process": "2", "start": "2026-01-01", "end": "2026-03-31", "period": "custom", "as_of": "2026-02-01"},
        {"process": "abc", "start": "2026-13-01", "end": "x", "as_of": "2027-01-01"},
        {"process": "99", "start": '"><script>', "period": "custom"},
    ],
)
def test_the_inputs_are_what_the_widgets_render(data):
    processes = [SalesProcess(pk=1, name="New <b>business</b>"), SalesProcess(pk=2, name="Renewals & upsell")]
    form = DashboardFilterForm(data, processes=processes, today=TODAY)
    form.usable()
    for name in ("process", "start", "end", "as_of"):
        assert form.inputs[name] == widget_html(form, name), name
