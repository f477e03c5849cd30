"""The daily digest: who gets one, what it says, and that nobody gets two in a day."""

import datetime as dt
import smtplib
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend

from opportunities.models import OpportunityStatus
from people.models import Role
from pipeline import celery_app
from pipeline.models import DigestKind, DigestSent, Flag, FlagKind
from pipeline.notify import digest
from pipeline.notify.digest import digest_send, digest_send_all
from pipeline.tasks import send_daily_digests
from tests.factories import AccountFactory, OpportunityFactory, TeamFactory, UserFactory

SITE = "https://lockstep.example.com"


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = SITE
    settings.LOCKSTEP_CURRENCY = "EUR"


def deal(owner, process, name, amount="10000", **fields):
    """A deal built without the services, so no listener opens flags behind the test's back."""
    stage = process.stages.order_by("order").first()
    return OpportunityFactory(
        owner=owner,
        account=AccountFactory(name=f"{name} Inc", owner=owner),
        process=process,
        stage=stage,
        name=name,
        amount=Decimal(amount),
        **fields,
    )


def flag(opportunity, kind, detail="", **fields):
    return Flag.objects.create(opportunity=opportunity, kind=kind, detail=detail or kind, **fields)


def mails_to(user):
    return [m for m in mail.outbox if m.to == [user.email]]


def html_of(message) -> str:
    [(content, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return content


@pytest.fixture
def flagged(owner, teammate, outsider, process, now):
    """owner: two flagged deals (one with two flags); teammate: one; outsider (other team): one."""
    rollout = deal(owner, process, "Acme rollout", "50000")
    renewal = deal(owner, process, "Acme renewal", "12500")
    pilot = deal(teammate, process, "Beta pilot", "8000")
    secret = deal(outsider, process, "Gamma secret", "99000")
    flag(rollout, FlagKind.IDLE, "idle 23 days")
    flag(rollout, FlagKind.NO_NEXT_STEP, "no next step")
    flag(renewal, FlagKind.IDLE, "idle 40 days")
    flag(pilot, FlagKind.CLOSE_DATE_SLIPPED, "pushed 3 times")
    flag(secret, FlagKind.STUCK, "62 days in Qualify")
    return {"rollout": rollout, "renewal": renewal, "pilot": pilot, "secret": secret}


def test_owner_digest_groups_flagged_deals_by_flag_with_absolute_links(owner, flagged, now):
    digest_send_all(now=now)

    [message] = mails_to(owner)
    assert message.subject == "Lockstep: 2 of your deals need attention (2 Mar 2026)"
    assert message.from_email
    text = message.body
    rollout, renewal = flagged["rollout"], flagged["renewal"]
    # Groups in FlagKind order, each deal under every flag it has.
    assert text.index("Idle (2)") < text.index("No next step (1)")
    idle, no_step = text.split("Idle (2)")[1].split("No next step (1)")
    assert "Acme rollout (Acme rollout Inc, EUR 50,000, Qualify): idle 23 days" in idle
    assert "Acme renewal (Acme renewal Inc, EUR 12,500, Qualify): idle 40 days" in idle
    assert f"{SITE}/deals/{rollout.pk}/" in idle and f"{SITE}/deals/{renewal.pk}/" in idle
    assert "Acme rollout" in no_step and "Acme renewal" not in no_step
    assert f"{SITE}/deals/" in text
    # Nobody else's deals.
    assert "Beta pilot" not in text and "Gamma secret" not in text

    html = html_of(message)
    assert f'<a href="{SITE}/deals/{rollout.pk}/">Acme rollout</a>' in html
    assert f'<a href="{SITE}/deals/{renewal.pk}/">Acme renewal</a>' in html
    assert "Idle (2)" in html and "No next step (1)" in html
    assert "Beta pilot" not in html


def test_manager_digest_has_totals_per_rep_and_only_their_teams(manager, owner, teammate, flagged, now):
    digest_send_all(now=now)

    [message] = mails_to(manager)
    assert message.subject == "Lockstep: 3 of your teams' deals need attention (2 Mar 2026)"
    text = message.body
    assert "3 deals in your teams need attention on 2 Mar 2026: 4 flags, EUR 70,500 in total." in text
    assert "Olivia Owner (Team Alpha): 2 deals, 3 flags, EUR 62,500" in text
    assert "Tom Teammate (Team Alpha): 1 deal, 1 flag, EUR 8,000" in text
    assert "Acme rollout (Acme rollout Inc, EUR 50,000): Idle: idle 23 days; No next step: no next step" in text
    assert f"{SITE}/deals/{flagged['pilot'].pk}/" in text
    # The outsider is in a team this manager does not manage.
    assert "Gamma secret" not in text and "Oscar" not in text

    html = html_of(message)
    assert f'<a href="{SITE}/deals/{flagged["pilot"].pk}/">Beta pilot</a>' in html
    assert '<td align="right" style="padding: 4px 8px;">62,500</td>' in html
    assert "Gamma secret" not in html


def test_a_manager_who_also_owns_flagged_deals_gets_both_digests(manager, team, process, flagged, now):
    flag(deal(manager, process, "Own deal"), FlagKind.IDLE, "idle 30 days")

    digest_send_all(now=now)

    kinds = sorted(m.subject for m in mails_to(manager))
    assert kinds == [
        "Lockstep: 1 of your deals need attention (2 Mar 2026)".replace("deals need", "deal needs"),
        "Lockstep: 3 of your teams' deals need attention (2 Mar 2026)",
    ]


def test_digest_twice_in_a_day_sends_one_email_each(owner, manager, teammate, outsider, flagged, now):
    assert digest_send_all(now=now) == 4
    assert digest_send_all(now=now + dt.timedelta(hours=6)) == 0
    send_daily_digests.delay()  # the beat's task, eager here: also a no-op

    assert len(mail.outbox) == 4
    assert [len(mails_to(u)) for u in (owner, teammate, outsider, manager)] == [1, 1, 1, 1]
    records = DigestSent.objects.filter(day=now.date())
    assert records.count() == 4
    assert all(r.sent_at == now for r in records)


def test_the_next_day_sends_again(owner, flagged, now):
    digest_send_all(now=now)
    digest_send_all(now=now + dt.timedelta(days=1))

    assert len(mails_to(owner)) == 2
    assert sorted(DigestSent.objects.filter(user=owner).values_list("day", flat=True)) == [
        now.date(),
        now.date() + dt.timedelta(days=1),
    ]


def test_nobody_without_open_flags_on_open_deals_gets_mail(owner, teammate, manager, admin, process, now):
    other_manager = UserFactory(role=Role.MANAGER, manages=[TeamFactory(name="Quiet team")])
    resolved = deal(owner, process, "Fixed deal")
    flag(resolved, FlagKind.IDLE, resolved_at=now - dt.timedelta(hours=1))
    won = deal(teammate, process, "Won deal", status=OpportunityStatus.WON)
    flag(won, FlagKind.IDLE)  # a leftover flag on a closed deal is not news
    deal(owner, process, "Healthy deal")

    assert digest_send_all(now=now) == 0
    assert mail.outbox == []
    assert not DigestSent.objects.exists()
    assert digest_send(other_manager, kind=DigestKind.MANAGER, now=now) is None


def test_users_without_an_address_or_inactive_get_no_mail(owner, teammate, process, now):
    owner.email = ""
    owner.save()
    teammate.is_active = False
    teammate.save()
    flag(deal(owner, process, "A"), FlagKind.IDLE)
    flag(deal(teammate, process, "B"), FlagKind.IDLE)

    assert digest_send_all(now=now) == 0
    assert mail.outbox == []


class FlakyBackend(LocmemBackend):
    """Fails like an SMTP server going away, `failures` times, then delivers."""

    failures = 0

    def send_messages(self, messages):
        if FlakyBackend.failures:
            FlakyBackend.failures -= 1
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)


@pytest.fixture
def flaky_mail(settings):
    settings.EMAIL_BACKEND = "tests.pipeline.notify.test_digest.FlakyBackend"
    FlakyBackend.failures = 1
    yield FlakyBackend
    FlakyBackend.failures = 0


def test_a_failed_send_releases_the_claim_and_the_retry_sends_exactly_once(owner, flagged, flaky_mail, now):
    with pytest.raises(smtplib.SMTPServerDisconnected):
        digest_send(owner, kind=DigestKind.OWNER, now=now)
    assert mail.outbox == []
    assert not DigestSent.objects.filter(user=owner).exists()

    assert digest_send(owner, kind=DigestKind.OWNER, now=now + dt.timedelta(minutes=1)) is not None
    assert digest_send(owner, kind=DigestKind.OWNER, now=now + dt.timedelta(minutes=2)) is None
    assert len(mails_to(owner)) == 1


def test_the_task_retries_a_transient_failure_and_everyone_gets_exactly_one(
    owner, teammate, outsider, manager, flagged, flaky_mail, now, monkeypatch
):
    flaky_mail.failures = 2  # the first two attempts hit a disconnected server

    # Eager, Celery runs the autoretries inline, unless eager propagation lets the first Retry
    # escape instead.
    monkeypatch.setitem(celery_app.conf, "task_eager_propagates", False)
    result = send_daily_digests.apply()

    assert result.successful() and result.get() == 4
    assert flaky_mail.failures == 0
    assert [len(mails_to(u)) for u in (owner, teammate, outsider, manager)] == [1, 1, 1, 1]
    assert DigestSent.objects.filter(sent_at__isnull=False).count() == 4
    assert not DigestSent.objects.filter(sent_at__isnull=True).exists()


def test_a_claim_in_progress_is_left_alone_and_an_abandoned_one_is_taken_over(owner, flagged, now):
    claim = DigestSent.objects.create(user=owner, kind=DigestKind.OWNER, day=now.date(), claimed_at=now)

    # Another worker claimed it a minute ago and may be sending right now.
    assert digest_send(owner, kind=DigestKind.OWNER, now=now + dt.timedelta(minutes=1)) is None
    assert mails_to(owner) == []

    # Its worker died without recording the send: after CLAIM_TIMEOUT the next run takes over.
    later = now + digest.CLAIM_TIMEOUT + dt.timedelta(minutes=1)
    sent = digest_send(owner, kind=DigestKind.OWNER, now=later)
    assert sent is not None and sent.pk == claim.pk
    claim.refresh_from_db()
    assert claim.claimed_at == later and claim.sent_at == later
    assert len(mails_to(owner)) == 1


def test_the_beat_schedule_sends_digests_daily_at_digest_hour(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["send-daily-digests"]
    assert entry["task"] == send_daily_digests.name == "pipeline.tasks.send_daily_digests"
    assert entry["schedule"].hour == {settings.DIGEST_HOUR}
    assert entry["schedule"].minute == {0}
    assert 0 < entry["options"]["expires"] < 24 * 60 * 60


@pytest.mark.parametrize("raw", ["24", "-1", "seven"])
def test_digest_hour_outside_0_to_23_is_refused(monkeypatch, raw):
    from pipeline.settings import env_int

    monkeypatch.setenv("DIGEST_HOUR", raw)
    with pytest.raises(ImproperlyConfigured, match="DIGEST_HOUR"):
        env_int("DIGEST_HOUR", 7, minimum=0, maximum=23)
