from django.apps import AppConfig


class GuidanceConfig(AppConfig):
    name = "guidance"
    verbose_name = "Guided selling"

    def ready(self) -> None:
        from opportunities.hooks import DealPanel, register_deal_panel

        from .panel import deal_signals_panel

        # The deal page shows the deal's stored signals and its qualification checklist.
        register_deal_panel(
            DealPanel(name="signals", template="guidance/_deal_signals.html", context=deal_signals_panel)
        )
