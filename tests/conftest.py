"""Persona fixtures shared by every test module.

    owner     a rep in `team`; owns `opportunity`
    teammate  another rep in `team`: with the default "team" visibility they read owner's deals
              but may not change them (views: 403). Also available as `viewer`.
    manager   manages `team`: reads and changes its deals, may override and reopen
    outsider  a rep in `other_team`: cannot see owner's deals at all (views: 404)
    admin     role admin, staff and superuser: sees and changes everything

`now` is a fixed aware datetime and freezes the clock there, so code that calls
`timezone.now()` agrees with the `now=` passed to services.
"""

import datetime as dt

import pytest
import time_machine
from django.test import Client
from rest_framework.test import APIClient

from opportunities import services
from opportunities.models import AccountStatus
from people.models import Role, Team
from tests.factories import (
    AccountFactory,
    ContactFactory,
    LostReasonFactory,
    TeamFactory,
    UserFactory,
    make_process,
)

# The fuzz tests' `world` fixture lives with the rest of their shared pieces; a module with a
# `world` fixture of its own (tests/opportunities/test_views.py) keeps its own.
pytest_plugins = ["tests.fuzzing"]

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


def pytest_collection_modifyitems(config, items):
    """Tests marked `postgresql` check what only PostgreSQL has (advisory locks, terminating another
    session's connection, GiST and covering indexes, planner settings). On SQLite they are
    deselected, not skipped (CI fails on skips), and the run says how many, rather than passing
    without checking anything."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    deselected = [item for item in items if item.get_closest_marker("postgresql")]
    if not deselected:
        return
    items[:] = [item for item in items if not item.get_closest_marker("postgresql")]
    config.hook.pytest_deselected(items=deselected)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"SQLite: deselected {len(deselected)} PostgreSQL-only test(s) (marker `postgresql`)")


@pytest.fixture
def now():
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def today(now) -> dt.date:
    return now.date()


@pytest.fixture
def team(db) -> Team:
    return TeamFactory(name="Team Alpha")


@pytest.fixture
def other_team(db) -> Team:
    return TeamFactory(name="Team Beta")


@pytest.fixture
def owner(team):
    return UserFactory(username="owner", first_name="Olivia", last_name="Owner", role=Role.REP, team=team)


@pytest.fixture
def teammate(team):
    return UserFactory(username="teammate", first_name="Tom", last_name="Teammate", role=Role.REP, team=team)


@pytest.fixture
def viewer(teammate):
    """The read-only persona: may read owner's deals, may not change them."""
    return teammate


@pytest.fixture
def manager(team):
    return UserFactory(username="manager", first_name="Maya", last_name="Manager", role=Role.MANAGER, manages=[team])


@pytest.fixture
def outsider(other_team):
    return UserFactory(username="outsider", first_name="Oscar", last_name="Outsider", role=Role.REP, team=other_team)


@pytest.fixture
def admin(db):
    return UserFactory(
        username="admin", first_name="Ada", last_name="Admin", role=Role.ADMIN, is_staff=True, is_superuser=True
    )


@pytest.fixture
def process(db):
    """New business: Qualify → Discover → Propose, each with required "Check 1", "Check 2"
    and optional "Optional 1"."""
    return make_process(stages=3, milestones=2, required=True, optional=1, name="New business")


@pytest.fixture
def account(owner):
    return AccountFactory(name="Acme Corp", owner=owner, status=AccountStatus.TARGET)


@pytest.fixture
def contact(account):
    return ContactFactory(account=account, first_name="Carla", last_name="Contact", email="carla@acme.example")


@pytest.fixture
def lost_reason(db):
    return LostReasonFactory(name="Price")


@pytest.fixture
def opportunity(owner, account, process, now):
    return services.opportunity_create(
        actor=owner,
        account=account,
        process=process,
        name="Acme rollout",
        amount="50000",
        expected_close_date=now.date() + dt.timedelta(days=30),
        now=now,
    )


@pytest.fixture
def client_for(db):
    """`client_for(user)`: a test Client signed in as `user`."""

    def make(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def api_for(db):
    """`api_for(user)`: an APIClient signed in as `user` through the real session path."""

    def make(user) -> APIClient:
        client = APIClient()
        client.force_login(user)
        return client

    return make
