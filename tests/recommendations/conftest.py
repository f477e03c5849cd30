import pytest

from tests.recommendations.world import recommendation_world


@pytest.fixture
def guided(owner, now):
    """(process, deal): the planted history refreshed and `owner`'s open deal in Discover."""
    return recommendation_world(owner=owner, now=now)


@pytest.fixture
def deal(guided):
    return guided[1]
