"""The daily email digest: each owner's flagged deals, and each manager's teams' flagged deals.

These are services (`digest_send_all`, `digest_send`) kept out of `pipeline/services.py` only
because they are a self-contained job with their own templates; they follow the same shape.

At most one digest per person, kind and day
-------------------------------------------
A `DigestSent` row is the record of what was sent, and the unique (user, kind, day) constraint
is the lock. Sending one digest goes through three short transactions, never one long one,
because the claim must be visible to every other worker *before* the email leaves:

1. **Claim.** Insert (user, kind, day) with `claimed_at=now` and `sent_at=NULL`. Whoever inserts
   the row owns the send; a second worker, a retry or a restarted beat finds the row and skips.
2. **Send** through Django's email backend, outside any transaction.
3. **Record** `sent_at` with a compare-and-swap on (pk, claimed_at, sent_at IS NULL).

What happens when something goes wrong:

* The backend raises (SMTP down, refused, timeout): we are alive and know the mail did not go,
  so the claim is deleted (again by compare-and-swap), the error propagates and the task's
  autoretry runs the whole job again later; everyone already sent is skipped by their rows.
* The process dies between claim and record (SIGKILL, the hard time limit, a lost machine): the
  row stays with `sent_at=NULL`. A claim older than `CLAIM_TIMEOUT` (longer than the task's hard
  time limit, so its owner is certainly dead) may be taken over by the next run, again with a
  compare-and-swap on `claimed_at` so only one taker wins. The only way to get two emails is a
  kill in the milliseconds between the SMTP server accepting the message and step 3; we accept
  that window rather than silently dropping every digest whose sender died before sending.

"Day" is the installation's local date (`TIME_ZONE`) of `now`.
"""

import datetime as dt
import logging
from collections import defaultdict
from decimal import Decimal
from smtplib import SMTPRecipientsRefused

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import Exists, OuterRef, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from opportunities.models import OpportunityStatus
from people.models import Role, User

from ..models import DigestKind, DigestSent, Flag, FlagKind
from .reminders import reminder_user_ids, reminders_for_digest

logger = logging.getLogger(__name__)

# Must exceed the hard time limit of `pipeline.tasks.send_daily_digests` (30 min): a claim this
# old belongs to a sender that can no longer be running.
CLAIM_TIMEOUT = dt.timedelta(minutes=35)


# --- what goes into a digest --------------------------------------------------------------------


def _open_flags():
    return (
        Flag.objects.open()
        .filter(opportunity__status=OpportunityStatus.OPEN)
        .select_related("opportunity__account", "opportunity__stage", "opportunity__owner")
    )


def _deal_url(opportunity_id: int) -> str:
    return settings.SITE_URL + reverse("opportunities:detail", args=[opportunity_id])


def _kind_order() -> dict[str, int]:
    return {kind: i for i, kind in enumerate(FlagKind.values)}


def _deals(flags) -> list[dict]:
    """Flags folded into one entry per deal, in the order first seen."""
    deals: dict[int, dict] = {}
    for flag in flags:
        opp = flag.opportunity
        deal = deals.get(opp.pk)
        if deal is None:
            deal = deals[opp.pk] = {"opportunity": opp, "url": _deal_url(opp.pk), "flags": []}
        deal["flags"].append(flag)
    return list(deals.values())


def _owner_context(user: User, now: dt.datetime | None = None) -> dict | None:
    flags = list(_open_flags().filter(opportunity__owner=user).order_by("opportunity__expected_close_date", "id"))
    # What the other apps remind the person of (overdue post-mortems) rides in their own digest.
    reminders = [
        {"message": r.message, "url": settings.SITE_URL + r.url}
        for r in reminders_for_digest(user, now or timezone.now())
    ]
    if not flags and not reminders:
        return None
    order = _kind_order()
    by_kind: dict[str, list[Flag]] = defaultdict(list)
    for flag in flags:
        by_kind[flag.kind].append(flag)
    groups = [
        {
            "kind": kind,
            "label": FlagKind(kind).label,
            "items": [{"flag": f, "opportunity": f.opportunity, "url": _deal_url(f.opportunity_id)} for f in items],
        }
        for kind, items in sorted(by_kind.items(), key=lambda kv: order.get(kv[0], len(order)))
    ]
    deal_count = len({f.opportunity_id for f in flags})
    return {"groups": groups, "deal_count": deal_count, "flag_count": len(flags), "reminders": reminders}


def _manager_context(user: User) -> dict | None:
    team_ids = list(user.managed_teams.values_list("id", flat=True))
    if not team_ids:
        return None
    flags = list(
        _open_flags()
        .filter(opportunity__owner__team__in=team_ids)
        .select_related("opportunity__owner__team")
        .order_by("opportunity__expected_close_date", "opportunity_id", "id")
    )
    if not flags:
        return None
    order = _kind_order()
    by_rep: dict[int, list[Flag]] = defaultdict(list)
    for flag in flags:
        by_rep[flag.opportunity.owner_id].append(flag)
    reps = []
    for rep_flags in by_rep.values():
        rep = rep_flags[0].opportunity.owner
        deals = _deals(rep_flags)
        for deal in deals:
            deal["flags"].sort(key=lambda f: order.get(f.kind, len(order)))
        reps.append(
            {
                "rep": rep,
                "team": rep.team,
                "deals": deals,
                "deal_count": len(deals),
                "flag_count": len(rep_flags),
                "amount": sum((d["opportunity"].amount for d in deals), Decimal(0)),
            }
        )
    reps.sort(key=lambda r: (r["team"].name if r["team"] else "", str(r["rep"]).lower()))
    return {
        "reps": reps,
        "deal_count": sum(r["deal_count"] for r in reps),
        "flag_count": len(flags),
        "amount": sum((r["amount"] for r in reps), Decimal(0)),
    }


def _message(user: User, *, kind: str, day: dt.date, context: dict, connection=None) -> EmailMultiAlternatives:
    context = {
        **context,
        "user": user,
        "day": day,
        "site_url": settings.SITE_URL,
        "my_deals_url": settings.SITE_URL + reverse("opportunities:my_deals"),
        "currency": settings.LOCKSTEP_CURRENCY,
    }
    deals = context["deal_count"]
    noun = "deal needs" if deals == 1 else "deals need"
    whose = "your teams'" if kind == DigestKind.MANAGER else "your"
    subject = f"Lockstep: {deals} of {whose} {noun} attention ({day:%-d %b %Y})"
    if not deals and context.get("reminders"):
        subject = f"Lockstep: reminders for {day:%-d %b %Y}"
    template = f"pipeline/email/digest_{kind}"
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
        connection=connection,
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    return message


# --- claims -------------------------------------------------------------------------------------


def _claim(user: User, *, kind: str, day: dt.date, now: dt.datetime) -> DigestSent | None:
    """This run's exclusive right to send (user, kind, day), or None if it is not ours to send."""
    claim, created = DigestSent.objects.get_or_create(user=user, kind=kind, day=day, defaults={"claimed_at": now})
    if created:
        return claim
    if claim.sent_at is not None or claim.claimed_at > now - CLAIM_TIMEOUT:
        return None  # sent already, or another sender is on it right now
    # The previous sender died mid-send: take over, unless another run takes over first.
    taken = DigestSent.objects.filter(pk=claim.pk, sent_at=None, claimed_at=claim.claimed_at).update(claimed_at=now)
    if not taken:
        return None
    claim.claimed_at = now
    return claim


def _release(claim: DigestSent) -> None:
    DigestSent.objects.filter(pk=claim.pk, sent_at=None, claimed_at=claim.claimed_at).delete()


# --- services -----------------------------------------------------------------------------------


def digest_send(user: User, *, kind: str, now: dt.datetime | None = None, connection=None) -> DigestSent | None:
    """Send `user` today's digest of `kind` unless it was sent (or is being sent) already.

    Returns the `DigestSent` record when this call sent the email; None when there was nothing
    to report or someone else sent it. Backend errors propagate after the claim is released,
    so that a retry may send it.
    """
    now = now or timezone.now()
    day = timezone.localdate(now)
    if not user.email or not user.is_active:
        return None
    context = _manager_context(user) if kind == DigestKind.MANAGER else _owner_context(user, now)
    if context is None:
        return None
    # Rendered before claiming, so a template error cannot leave a claim behind.
    message = _message(user, kind=kind, day=day, context=context, connection=connection)
    claim = _claim(user, kind=kind, day=day, now=now)
    if claim is None:
        return None
    try:
        message.send(fail_silently=False)
    except BaseException:
        _release(claim)
        raise
    recorded = DigestSent.objects.filter(pk=claim.pk, claimed_at=claim.claimed_at, sent_at=None).update(sent_at=now)
    if not recorded:
        # Only possible if this send outlived CLAIM_TIMEOUT and another run took over.
        logger.warning("digest %s for user %s on %s: claim was taken over while sending", kind, user.pk, day)
    claim.sent_at = now
    return claim


def _recipients(kind: str, day: dt.date, now: dt.datetime | None = None):
    """Active users with an email address who may have something to read today, and have not
    been sent today's digest of `kind` yet (the claim in `digest_send` is what decides)."""
    flagged = Flag.objects.open().filter(opportunity__status=OpportunityStatus.OPEN)
    if kind == DigestKind.MANAGER:
        has_flags = flagged.filter(opportunity__owner__team__managers=OuterRef("pk"))
        users = User.objects.filter(role=Role.MANAGER)
    else:
        has_flags = flagged.filter(opportunity__owner=OuterRef("pk"))
        users = User.objects.all()
    sent = DigestSent.objects.filter(user=OuterRef("pk"), kind=kind, day=day, sent_at__isnull=False)
    wanted = Q(Exists(has_flags))
    if kind == DigestKind.OWNER and now is not None:
        wanted |= Q(pk__in=reminder_user_ids(now))
    return users.filter(is_active=True, email__gt="").filter(wanted).exclude(Exists(sent)).order_by("pk")


def digest_send_all(*, now: dt.datetime | None = None) -> int:
    """Send today's owner and manager digests to everyone who has flagged deals. Idempotent.

    One SMTP connection serves the whole run. Any backend error (the server is down) stops the
    run at once and propagates; a refused recipient does not stop the others and is raised at
    the end. Either way the task retries, and the retry skips everyone already sent.
    """
    now = now or timezone.now()
    day = timezone.localdate(now)
    recipients = [
        (kind, user) for kind in (DigestKind.OWNER, DigestKind.MANAGER) for user in _recipients(kind, day, now)
    ]
    if not recipients:
        return 0
    sent = 0
    first_error: Exception | None = None
    with get_connection(fail_silently=False) as connection:
        for kind, user in recipients:
            try:
                if digest_send(user, kind=kind, now=now, connection=connection):
                    sent += 1
            except SMTPRecipientsRefused as exc:
                logger.warning("digest %s for user %s refused: %s", kind, user.pk, exc)
                first_error = first_error or exc
    if first_error is not None:
        raise first_error
    return sent
