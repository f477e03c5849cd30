"""Load test: signed-in reps and managers working the 100,000-deal bench database at once.

Run through `make loadtest` (bench/loadtest/run.sh), which starts gunicorn with the production
configuration on a copy of the bench database and runs this file headless for 60 seconds:

    locust -f bench/loadtest/locustfile.py --headless --users 16 --run-time 60s --host http://127.0.0.1:PORT

Each simulated person signs in through the login form as one of the demo users (bench/bulkdata.py; their
password is LOADTEST_PASSWORD, by default the demo's published one) and then, with a few seconds
between actions, does what the day brings: reps open My deals and their deals, commit next steps,
tick milestones and move deals, glance at the board and their dashboard; managers read the team's
deals, the board and the dashboard. Forms are read from the pages as a browser would (CSRF token,
hidden fields such as the deal's version), so the test follows the templates.

Only a loopback host is accepted: this generates real load and real writes.
"""

import datetime as dt
import itertools
import os
import random
from urllib.parse import urlsplit

from locust import HttpUser, between, events, task
from locust.exception import StopUser
from pages import DEAL_LINK, Forms  # bench/loadtest/pages.py: locust puts this directory on sys.path

PASSWORD = os.environ.get("LOADTEST_PASSWORD", "lockstep-demo")  # pipeline.demo.content.PASSWORD
REPS = os.environ.get("LOADTEST_REPS", "rep,rep2,rep3,priya,jonas,lena,marco,aisha,tom").split(",")
MANAGERS = os.environ.get("LOADTEST_MANAGERS", "manager,manager2").split(",")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _loopback(host: str | None) -> bool:
    return urlsplit(host or "").hostname in LOOPBACK


@events.init.add_listener
def refuse_anything_but_loopback(environment, **kwargs):
    if not _loopback(environment.host):
        raise SystemExit(f"locustfile: refusing to load {environment.host!r}; only 127.0.0.1 is allowed.")


class Person(HttpUser):
    abstract = True
    wait_time = between(1, 3)
    usernames: itertools.cycle

    def on_start(self):
        if not _loopback(self.host):  # a host given per user class, past the check at start-up
            raise StopUser()
        self.username = next(self.usernames)
        self.client.get("/login/", name="sign in (GET)")
        token = self.client.cookies.get("csrftoken", "")
        with self.client.post(
            "/login/",
            data={"username": self.username, "password": PASSWORD, "csrfmiddlewaretoken": token},
            name="sign in (POST)",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"{self.username} could not sign in (HTTP {response.status_code})")
        self.deal_links: list[str] = []

    def page(self, url: str, name: str):
        with self.client.get(url, name=name, catch_response=True) as response:
            if response.status_code != 200 or "/login/" in response.url:
                response.failure(f"HTTP {response.status_code} at {response.url}")
            return response

    def post(self, url: str, fields: dict, name: str):
        # Post/redirect/get: a write answers with a redirect back to the deal; refusals by the
        # rules (a milestone gate) are redirects with a message too. Anything else is an error.
        with self.client.post(url, data=fields, name=name, allow_redirects=False, catch_response=True) as response:
            if response.status_code != 302 or "/login/" in response.headers.get("Location", ""):
                response.failure(f"HTTP {response.status_code}")

    def refresh_deals(self, url: str, name: str):
        links = [link for link, _ in DEAL_LINK.findall(self.page(url, name).text)]
        if links:
            self.deal_links = list(dict.fromkeys(links))

    def deal_forms(self) -> tuple[str, Forms] | None:
        if not self.deal_links:
            return None
        link = random.choice(self.deal_links)
        response = self.page(link, "deal page")
        return (link, Forms(response.text)) if response.status_code == 200 else None


class Rep(Person):
    weight = 3
    usernames = itertools.cycle(REPS)

    def on_start(self):
        super().on_start()
        self.refresh_deals("/deals/", "my deals")

    @task(3)
    def my_deals(self):
        self.refresh_deals("/deals/", "my deals")

    @task(4)
    def deal_page(self):
        self.deal_forms()

    @task(1)
    def commit_next_step(self):
        deal = self.deal_forms()
        forms = deal and deal[1].matching(r"/next-step/$")
        if forms:
            action, fields = forms[0]
            due = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=random.randint(1, 14))
            fields.update(description=f"Follow up with the buyer ({self.username})", due_date=due.isoformat())
            fields.pop("waiting_until", None)
            self.post(action, fields, "next step (POST)")

    @task(1)
    def tick_milestone(self):
        deal = self.deal_forms()
        forms = deal and deal[1].matching(r"/milestones/\d+/$")
        if forms:
            unticked = [form for form in forms if form[1].get("done") == "on"]
            action, fields = random.choice(unticked or forms)
            self.post(action, fields, "milestone (POST)")

    @task(1)
    def move(self):
        deal = self.deal_forms()
        forms = deal and deal[1].matching(r"/move/$")
        if forms:
            action, fields = forms[0]  # to the stage the page proposes (the next one)
            fields.pop("override_reason", None)
            self.post(action, fields, "move (POST)")

    @task(1)
    def board(self):
        self.page("/board/", "board")

    @task(1)
    def dashboard(self):
        self.page("/dashboard/", "dashboard")


class Manager(Person):
    weight = 1
    usernames = itertools.cycle(MANAGERS)

    def on_start(self):
        super().on_start()
        self.refresh_deals("/deals/?scope=all", "team deals")

    @task(2)
    def team_deals(self):
        self.refresh_deals("/deals/?scope=all", "team deals")

    @task(3)
    def deal_page(self):
        self.deal_forms()

    @task(2)
    def board(self):
        self.page("/board/", "board")

    @task(3)
    def dashboard(self):
        self.page("/dashboard/", "dashboard")
