from django.apps import AppConfig


class GuidanceConfig(AppConfig):
    name = "guidance"
    verbose_name = "Guided selling"

    def ready(self) -> None:
        from opportunities.hooks import (
            DealPanel,
            register_deal_columns,
            register_deal_panel,
            register_demo_seeder,
        )

        from . import receivers
        from .demo import seed_guidance_demo
        from .panel import deal_signal_columns, deal_signals_panel

        # The deal page shows the deal's stored signals and its qualification checklist.
        register_deal_panel(
            DealPanel(name="signals", template="guidance/_deal_signals.html", context=deal_signals_panel)
        )
        # My deals shows each open deal's stored figures as columns and sorts by them.
        register_deal_columns(deal_signal_columns())
        # The demo company gets checklists, ticks, a trained model and scored deals.
        register_demo_seeder("guidance", seed_guidance_demo)
        # A changed deal is rescored in the background, not only at night.
        receivers.connect()
