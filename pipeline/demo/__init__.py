"""The demo company for `manage.py seed_demo` and `make run`: two sales processes with real
coaching, teams, people, accounts and 18 months of deal history ending now, built through the
services (`build.STEPS`) from the words in `content`.

The benchmarks' 100,000-deal databases come from bench/bulkdata.py instead.
"""

from django.contrib.auth.hashers import check_password

from people.models import User
from stages.models import SalesProcess

from .build import STEPS, seed_demo
from .content import PASSWORD, PROCESSES, USERS

__all__ = ["PASSWORD", "STEPS", "demo_logins", "demo_present", "seed_demo"]


def demo_present() -> bool:
    return SalesProcess.objects.filter(name=PROCESSES[0]["name"]).exists()


def demo_logins() -> list[tuple[str, str, str, str]]:
    """username, role, team, password of the demo users that exist."""
    users = User.objects.filter(username__in=[u[0] for u in USERS]).select_related("team")
    by_name = {u.username: u for u in users}
    # The seed hashes the password once for all users, so one slow check covers every user who
    # shares that hash; users who existed before the seed keep their own password.
    verdicts: dict[str, bool] = {}
    rows = []
    for username, *_ in USERS:
        user = by_name.get(username)
        if user is None:
            continue
        if user.password not in verdicts:
            verdicts[user.password] = check_password(PASSWORD, user.password)
        password = PASSWORD if verdicts[user.password] else "(unchanged)"
        rows.append((username, user.role, user.team.name if user.team else "—", password))
    return rows
