"""The access rules every app uses: who may change a deal, who may override its gates or reopen it."""

import pytest

from opportunities.models import Opportunity
from people.access import can_edit, can_override, visible_owner_q
from people.models import Role
from tests.factories import UserFactory

#            persona      can_edit  can_override
RULES = [
    ("owner", True, False),
    ("teammate", False, False),
    ("manager", True, True),
    ("outsider", False, False),
    ("admin", True, True),
    ("other_manager", False, False),
]


@pytest.fixture
def other_manager(other_team):
    return UserFactory(username="other_manager", role=Role.MANAGER, manages=[other_team])


@pytest.mark.parametrize(("persona", "edits", "overrides"), RULES)
def test_who_may_change_and_who_may_override(request, opportunity, persona, edits, overrides):
    user = request.getfixturevalue(persona)
    assert can_edit(user, opportunity) is edits
    assert opportunity.can_edit(user) is edits
    assert can_override(user, opportunity) is overrides


@pytest.mark.parametrize(
    ("persona", "reads"),
    [
        ("owner", True),
        ("teammate", True),
        ("manager", True),
        ("outsider", False),
        ("admin", True),
        ("other_manager", False),
    ],
)
def test_who_may_read(request, opportunity, persona, reads):
    user = request.getfixturevalue(persona)
    assert Opportunity.objects.filter(visible_owner_q(user), pk=opportunity.pk).exists() is reads
    assert Opportunity.objects.for_user(user).filter(pk=opportunity.pk).exists() is reads
