"""`make loadtest` (bench/loadtest/): what the simulated people read from the pages is there in
the real templates, the summary judges the targets, and the run stays bounded and on loopback.

The load run itself is not part of the suite (it needs the 100,000-deal bench database and a
minute of the machine); these tests keep it from rotting when templates change.
"""

import re
import subprocess
import sys

from django.urls import reverse

from bench.loadtest.pages import DEAL_LINK, Forms
from pipeline.demo import content as demo
from tests.servers import ROOT

LOADTEST = ROOT / "bench" / "loadtest"
LOCUSTFILE = (LOADTEST / "locustfile.py").read_text()


def test_the_deal_page_has_the_forms_the_load_test_posts(client_for, owner, opportunity):
    page = client_for(owner).get(reverse("opportunities:detail", args=[opportunity.pk])).content.decode()
    forms = Forms(page)

    [(action, fields)] = forms.matching(r"/next-step/$")
    assert action == reverse("opportunities:next_step_set", args=[opportunity.pk])
    assert {"csrfmiddlewaretoken", "description", "due_date"} <= set(fields)

    milestones = forms.matching(r"/milestones/\d+/$")
    assert milestones and all(fields.get("done") == "on" for _, fields in milestones)

    [(action, fields)] = forms.matching(r"/move/$")
    next_stage = opportunity.process.stages.order_by("order")[1]
    assert fields["to_stage"] == str(next_stage.pk) and fields["csrfmiddlewaretoken"]


def test_my_deals_links_to_the_deals(client_for, owner, opportunity):
    page = client_for(owner).get(reverse("opportunities:my_deals")).content.decode()
    assert (reverse("opportunities:detail", args=[opportunity.pk]), str(opportunity.pk)) in DEAL_LINK.findall(page)


def test_the_load_test_signs_in_as_the_demo_reps_and_managers():
    assert f'"LOADTEST_PASSWORD", "{demo.PASSWORD}"' in LOCUSTFILE
    reps = re.search(r'"LOADTEST_REPS", "([^"]+)"', LOCUSTFILE).group(1).split(",")
    managers = re.search(r'"LOADTEST_MANAGERS", "([^"]+)"', LOCUSTFILE).group(1).split(",")
    assert reps == [u[0] for u in demo.USERS if u[3] == "rep"]
    assert managers == [u[0] for u in demo.USERS if u[3] == "manager"]


def test_the_run_is_bounded_and_on_loopback():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^loadtest:.*\n\t\$\(PY\) bench/loadtest/run\.py$", makefile, re.MULTILINE)
    runner = (LOADTEST / "run.py").read_text()
    assert '"--run-time"' in runner and '"LOADTEST_RUN_TIME", "60s"' in runner and '"--headless"' in runner
    assert re.search(r'"--bind",\s*f"127\.0\.0\.1:\{port\}"', runner) and 'host = f"http://127.0.0.1:{port}"' in runner
    assert re.search(r'"-c",\s*"gunicorn\.conf\.py"', runner)
    assert "only 127.0.0.1 is allowed" in LOCUSTFILE


STATS_HEADER = "Type,Name,Request Count,Failure Count,Requests/s,50%,95%,99%"


def report(tmp_path, *rows: str) -> subprocess.CompletedProcess:
    (tmp_path / "run_stats.csv").write_text("\n".join([STATS_HEADER, *rows]) + "\n")
    return subprocess.run(
        [sys.executable, str(LOADTEST / "report.py"), str(tmp_path / "run")], capture_output=True, text=True
    )


def test_the_summary_meets_the_targets_without_errors_and_with_fast_pages(tmp_path):
    result = report(
        tmp_path,
        "GET,my deals,120,0,2.0,80,300,450",
        "POST,sign in (POST),16,0,0.3,900,2000,2100",  # signing in is shown, not judged
        ",Aggregated,136,0,2.3,90,400,1800",
    )
    assert result.returncode == 0, result.stdout
    assert re.search(r"GET my deals\s+120\s+0\s+2\.0\s+80\s+300\s+450", result.stdout)
    assert "requests/s: 2.3   errors: 0" in result.stdout
    assert "target 0 errors: met" in result.stdout


def test_the_summary_misses_the_targets_on_errors_or_a_slow_page(tmp_path):
    slow = report(tmp_path, "GET,dashboard,50,0,1.0,200,650,900", ",Aggregated,50,0,1.0,200,650,900")
    assert slow.returncode == 1 and "MISSED on dashboard" in slow.stdout
    failing = report(tmp_path, "GET,board,50,2,1.0,100,200,300", ",Aggregated,50,2,1.0,100,200,300")
    assert failing.returncode == 1 and "target 0 errors: MISSED" in failing.stdout
