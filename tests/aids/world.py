"""Building blocks of the sales-aid tests: aids made through the services, a deal's buying team."""

from aids import services
from aids.models import AidKind, AidSource
from opportunities import services as deal_services
from opportunities.models import BuyingRole
from tests.factories import ContactFactory


def text_aid(actor, *, title="Discovery checklist", kind=AidKind.CHECKLIST, publish=True, now=None, **tags):
    return services.aid_create(
        actor=actor,
        title=title,
        kind=kind,
        source=AidSource.TEXT,
        body="- Ask **why now**",
        publish=publish,
        now=now,
        **tags,
    )


def team_member(deal, *, actor, roles=(BuyingRole.ECONOMIC_BUYER,), first_name="Erin", email="erin@acme.example"):
    contact = ContactFactory(account=deal.account, first_name=first_name, last_name="Buyer", email=email)
    deal_services.buying_team_add(deal, actor=actor, contact=contact, roles=list(roles))
    return contact


def aids_world(owner, manager) -> dict:
    """What the access matrix points the aid URLs at: a published aid whose current version is
    a file, and a rep's suggestion (a draft) with a file."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    def pdf():
        return SimpleUploadedFile("case.pdf", b"%PDF-1.4\n", content_type="application/pdf")

    aid = services.aid_create(
        actor=manager, title="Case study", kind=AidKind.CASE_STUDY, source=AidSource.FILE, file=pdf(), publish=True
    )
    draft = services.aid_create(actor=owner, title="My idea", kind=AidKind.CHECKLIST, source=AidSource.FILE, file=pdf())
    return {"aid": aid.pk, "aid_file": aid.current_version_id, "draft_file": draft.current_version_id}
