"""The demo company's recommendations: its closed deals counted, as the nightly job would."""

from .services import stats_refresh


def seed_recommendations_demo(*, seed: int, now) -> None:
    stats_refresh(now=now)
