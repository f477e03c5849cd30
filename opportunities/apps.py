from django.apps import AppConfig


class OpportunitiesConfig(AppConfig):
    name = "opportunities"
    verbose_name = "Accounts and opportunities"

    def ready(self) -> None:
        from .demo import seed_account_plans
        from .hooks import register_demo_seeder

        # The demo company's accounts get plans, known buying teams, next steps and nurturing.
        register_demo_seeder("account_plans", seed_account_plans)
