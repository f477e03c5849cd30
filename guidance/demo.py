"""The demo company's guided selling: each process's qualification checklist, items ticked on
open deals through the service as a rep would (more on deals further along), then the win model
trained on the company's closed deals and every open deal scored. Deterministic for a seed; runs
from the demo seed (`opportunities.hooks.run_demo_seeders`) after the deals exist."""

import random

from opportunities.models import Opportunity
from stages.models import SalesProcess

from . import services


def seed_guidance_demo(*, seed: int, now) -> None:
    rand = random.Random(seed * 37 + 13)
    items = {p.pk: services.qualification_items_seed(process=p) for p in SalesProcess.objects.order_by("id")}
    for deal in Opportunity.objects.open().select_related("owner", "stage", "process").order_by("id"):
        chance = min(0.9, 0.15 + deal.stage.win_probability / 100)
        for item in items.get(deal.process_id, []):
            if rand.random() < chance:
                services.qualification_tick(actor=deal.owner, opportunity=deal, item=item, ticked=True, now=now)
    services.win_model_train(now=now)
    services.signals_score_all(now=now)
