from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from opportunities.errors import AccessDenied, DomainError
from pipeline.models import Quota
from pipeline.reports.services import quota_set

# --- the service ---------------------------------------------------------------------------------------


def test_a_manager_sets_and_replaces_a_team_members_quota(manager, owner, now):
    quota = quota_set(actor=manager, user=owner, year=2026, quarter=1, amount="12500.5", now=now)
    assert (quota.amount, quota.set_by, quota.updated_at) == (Decimal("12500.50"), manager, now)
    again = quota_set(actor=manager, user=owner, year=2026, quarter=1, amount=Decimal("9000"), now=now)
    assert again.pk == quota.pk
    assert Quota.objects.get().amount == Decimal("9000.00")


def test_an_admin_sets_anyones_quota(admin, outsider, now):
    assert quota_set(actor=admin, user=outsider, year=2026, quarter=4, amount=0).amount == Decimal("0.00")


@pytest.mark.parametrize("actor_name", ["owner", "teammate", "outsider"])
def test_reps_set_no_quota_not_even_their_own(request, actor_name, owner):
    actor = request.getfixturevalue(actor_name)
    with pytest.raises(AccessDenied):
        quota_set(actor=actor, user=owner, year=2026, quarter=1, amount=100)
    assert not Quota.objects.exists()


def test_a_manager_cannot_set_another_teams_quota(manager, outsider):
    with pytest.raises(AccessDenied):
        quota_set(actor=manager, user=outsider, year=2026, quarter=1, amount=100)


@pytest.mark.parametrize(
    ("year", "quarter", "amount", "message"),
    [
        (2026, 0, 100, "Quarter must be 1, 2, 3 or 4."),
        (2026, 5, 100, "Quarter must be 1, 2, 3 or 4."),
        (1999, 1, 100, "Year must be between 2000 and 2100."),
        (2026, 1, -1, "Quota cannot be negative."),
        (2026, 1, "abc", "Quota must be a number."),
        (2026, 1, "NaN", "Quota must be a number."),
        (2026, 1, "1e12", "Quota is too large."),
    ],
)
def test_bad_values_are_refused_with_a_message(manager, owner, year, quarter, amount, message):
    with pytest.raises(DomainError) as excinfo:
        quota_set(actor=manager, user=owner, year=year, quarter=quarter, amount=amount)
    assert excinfo.value.message == message
    assert not Quota.objects.exists()


def test_the_database_keeps_one_quota_per_person_and_quarter(owner):
    Quota.objects.create(user=owner, year=2026, quarter=1, amount=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Quota.objects.create(user=owner, year=2026, quarter=1, amount=2)
    with pytest.raises(IntegrityError), transaction.atomic():
        Quota.objects.create(user=owner, year=2026, quarter=5, amount=2)


# --- the audit trail -------------------------------------------------------------------------------------


def test_setting_and_changing_a_quota_each_write_a_change_row(manager, owner, now):
    from pipeline.models import QuotaChange

    quota_set(actor=manager, user=owner, year=2026, quarter=1, amount="1000", now=now)
    quota_set(actor=manager, user=owner, year=2026, quarter=1, amount="1500", now=now)
    quota_set(actor=manager, user=owner, year=2026, quarter=1, amount="1500.00", now=now)  # no change, no row
    rows = list(QuotaChange.objects.order_by("id").values_list("user", "year", "quarter", "old_amount", "new_amount"))
    assert rows == [
        (owner.pk, 2026, 1, None, Decimal("1000.00")),
        (owner.pk, 2026, 1, Decimal("1000.00"), Decimal("1500.00")),
    ]
    assert set(QuotaChange.objects.values_list("actor", "created_at")) == {(manager.pk, now)}


def test_a_refused_quota_writes_no_change_row(manager, outsider):
    from pipeline.models import QuotaChange

    with pytest.raises(AccessDenied):
        quota_set(actor=manager, user=outsider, year=2026, quarter=1, amount=100)
    with pytest.raises(DomainError):
        quota_set(actor=manager, user=outsider, year=2026, quarter=1, amount=-1)
    assert not QuotaChange.objects.exists()


def test_the_quotas_page_shows_the_quarters_changes_of_the_people_in_view(
    client_for, manager, admin, owner, outsider, now
):
    from django.urls import reverse

    quota_set(actor=manager, user=owner, year=2026, quarter=1, amount="1000", now=now)
    quota_set(actor=admin, user=owner, year=2026, quarter=1, amount="2500", now=now)
    quota_set(actor=admin, user=outsider, year=2026, quarter=1, amount="7777", now=now)
    quota_set(actor=admin, user=owner, year=2026, quarter=2, amount="3333", now=now)
    body = client_for(manager).get(reverse("pipeline:quotas"), {"year": 2026, "quarter": 1}).content.decode()
    history = body.split('id="quota-history"')[1]
    assert "Olivia Owner: 1,000 → 2,500" in history
    assert "Olivia Owner: set to 1,000" in history
    assert history.index("1,000 → 2,500") < history.index("set to 1,000")  # newest first
    assert "Ada Admin" in history and "Maya Manager" in history
    assert "7,777" not in history  # another team's person
    assert "3,333" not in history  # another quarter


def test_a_failed_quota_change_row_rolls_the_quota_back(manager, owner, monkeypatch):
    from pipeline.models import QuotaChange

    def _boom(*args, **kwargs):
        raise RuntimeError("audit write failed")

    quota_set(actor=manager, user=owner, year=2026, quarter=1, amount=100)
    monkeypatch.setattr(QuotaChange.objects, "create", _boom)
    with pytest.raises(RuntimeError):
        quota_set(actor=manager, user=owner, year=2026, quarter=1, amount=200)
    assert Quota.objects.get().amount == 100
    assert QuotaChange.objects.count() == 1


def test_the_quotas_page_names_its_quarter_and_steps_across_the_year(client_for, manager, owner):
    from django.urls import reverse

    client = client_for(manager)
    body = client.get(reverse("pipeline:quotas"), {"year": 2026, "quarter": 1}).content.decode()
    assert '<small class="muted">2026-Q1</small>' in body
    assert 'href="?year=2025&amp;quarter=4"' in body and 'href="?year=2026&amp;quarter=2"' in body
    body = client.get(reverse("pipeline:quotas"), {"year": 2026, "quarter": 4}).content.decode()
    assert 'href="?year=2026&amp;quarter=3"' in body and 'href="?year=2027&amp;quarter=1"' in body
    saved = client.post(
        reverse("pipeline:quota_set", args=[owner.pk]), {"year": 2026, "quarter": 4, "amount": "500"}, follow=True
    )
    assert "Olivia Owner&#x27;s quota for 2026-Q4 is saved." in saved.content.decode()
