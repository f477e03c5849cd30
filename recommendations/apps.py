from django.apps import AppConfig


class RecommendationsConfig(AppConfig):
    name = "recommendations"
    verbose_name = "Recommendations"

    def ready(self) -> None:
        from opportunities.hooks import (
            BacktestSection,
            DealPanel,
            register_backtest_section,
            register_deal_panel,
            register_demo_seeder,
        )

        from . import backtest
        from .demo import seed_recommendations_demo
        from .panel import deal_recommendations_panel

        # The deal page's recommended next steps, with their evidence. Lazy: ranking the stage's
        # steps and finding their lessons and aids would add queries to every deal page.
        register_deal_panel(
            DealPanel(
                name="recommendations",
                template="recommendations/_deal_panel.html",
                context=deal_recommendations_panel,
                lazy=True,
                title="Recommended next steps",
            )
        )
        # `manage.py backtest` judges the recommendations on held-out deals.
        register_backtest_section(BacktestSection(name="recommendations", run=backtest.run))
        # The demo company's closed deals are counted, so its deals show recommendations.
        register_demo_seeder("recommendations", seed_recommendations_demo)
