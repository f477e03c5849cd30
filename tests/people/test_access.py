"""The access rules every app uses: who may change a deal, who may override its gates or reopen it,
and the one way views and the API fetch a row for a user (404 unseen, 403 read-only)."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from opportunities.models import Account, Opportunity
from people.access import can_edit, can_override, get_readable, visible_owner_q
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


@pytest.mark.parametrize(("persona", "edits", "overrides"), RULES)
def test_get_readable_hides_what_a_user_may_not_read_and_refuses_what_they_may_not_change(
    request, opportunity, persona, edits, overrides
):
    user = request.getfixturevalue(persona)
    reads = Opportunity.objects.for_user(user).filter(pk=opportunity.pk).exists()
    if not reads:
        with pytest.raises(Http404):
            get_readable(Opportunity.objects.all(), user, opportunity.pk)
        return
    assert get_readable(Opportunity.objects.all(), user, opportunity.pk) == opportunity
    if edits:
        assert get_readable(Opportunity.objects.all(), user, opportunity.pk, write=True) == opportunity
    else:
        with pytest.raises(PermissionDenied, match="view this opportunity but not change it"):
            get_readable(Opportunity.objects.all(), user, opportunity.pk, write=True)


def test_get_readable_names_what_it_refused(account, teammate):
    with pytest.raises(PermissionDenied, match="view this account but not change it"):
        get_readable(Account.objects.all(), teammate, account.pk, write=True)
    with pytest.raises(Http404):
        get_readable(Account.objects.all(), teammate, account.pk + 1000)
