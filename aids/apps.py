from django.apps import AppConfig


class AidsConfig(AppConfig):
    name = "aids"
    verbose_name = "Sales aids"

    def ready(self) -> None:
        from opportunities.hooks import DealPanel, register_deal_panel, register_demo_seeder

        from .demo import seed_aids_demo
        from .panel import deal_aids_panel

        # The deal page's "For this step" panel: the aids, battle cards and playbooks that help now.
        register_deal_panel(
            DealPanel(
                name="for-this-step",
                template="aids/_deal_panel.html",
                context=deal_aids_panel,
                # Matching the library against the deal's stage, milestones, competitors and
                # buying roles took a third of the page's time at 100,000 deals (bench/README.md).
                lazy=True,
                title="For this step",
            )
        )
        # The demo company gets a library and playbooks.
        register_demo_seeder("aids", seed_aids_demo)
