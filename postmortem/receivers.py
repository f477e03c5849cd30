"""The deal's close, reopen and refiling, heard from `opportunities.signals` (inside their transaction)."""

from opportunities.signals import opportunity_closed, opportunity_refiled, opportunity_reopened

from . import services


def _closed(sender, *, opportunity, actor, now, **kwargs):
    services.review_open(opportunity=opportunity, actor=actor, now=now)


def _reopened(sender, *, opportunity, actor, now, **kwargs):
    services.review_cancel(opportunity=opportunity, actor=actor, now=now)


def _refiled(sender, *, opportunity, actor, **kwargs):
    services.review_filing_follow(opportunity=opportunity, actor=actor)


def connect() -> None:
    opportunity_closed.connect(_closed, dispatch_uid="postmortem.review_open")
    opportunity_reopened.connect(_reopened, dispatch_uid="postmortem.review_cancel")
    opportunity_refiled.connect(_refiled, dispatch_uid="postmortem.review_filing_follow")
