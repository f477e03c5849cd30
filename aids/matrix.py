"""A deal's roles × aids matrix: for each buying role on the deal, its members, and for each aid
shared on the deal, the version each member received (the latest share) or nothing yet.

Two queries: the buying team, and the deal's shares with their aids, versions and sharers.
"""

from opportunities.models import BuyingRole, BuyingTeamMember

from .models import Share

NO_ROLE = "No role given"


def deal_matrix(deal) -> dict:
    team = list(BuyingTeamMember.objects.filter(opportunity=deal).select_related("contact"))
    ledger = list(
        Share.objects.filter(opportunity=deal)
        .select_related("aid", "version", "contact", "shared_by", "stage")
        .order_by("-shared_at", "-id")
    )
    columns = []
    seen = set()
    latest = {}
    for share in reversed(ledger):  # oldest first: the columns in the order aids were first shared
        if share.aid_id not in seen:
            seen.add(share.aid_id)
            columns.append(share.aid)
        latest[(share.contact_id, share.aid_id)] = share
    labels = dict(BuyingRole.choices)
    groups = []
    for role, label in [*BuyingRole.choices, ("", NO_ROLE)]:
        members = [m for m in team if (role in m.roles if role else not m.roles)]
        if not members:
            continue
        rows = []
        for member in members:
            cells = [latest.get((member.contact_id, aid.pk)) for aid in columns]
            rows.append({"member": member, "cells": cells, "nothing": not any(cells)})
        groups.append({"role": role, "label": labels.get(role, label), "rows": rows})
    on_team = {m.contact_id for m in team}
    nothing = [m for m in team if not any((m.contact_id, aid.pk) in latest for aid in columns)]
    former = sorted({s.contact for s in ledger if s.contact_id not in on_team}, key=lambda c: str(c))
    return {
        "columns": columns,
        "groups": groups,
        "ledger": ledger,
        "nothing_yet": nothing,
        "former": former,
        "team": team,
    }
