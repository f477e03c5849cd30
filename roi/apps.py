from django.apps import AppConfig


class RoiConfig(AppConfig):
    name = "roi"
    verbose_name = "ROI calculators"

    def ready(self) -> None:
        from opportunities.hooks import DealPanel, register_deal_panel, register_demo_seeder

        from .demo import seed_roi_demo
        from .panel import deal_roi_panel

        # The deal page shows its process's calculator and the deal's latest result.
        register_deal_panel(DealPanel(name="roi", template="roi/_deal_roi.html", context=deal_roi_panel))
        # The demo company gets a calculator per process and results on some deals.
        register_demo_seeder("roi", seed_roi_demo)
