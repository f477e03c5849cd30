from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "pipeline"
    verbose_name = "Pipeline"

    def ready(self) -> None:
        from opportunities.hooks import DealBadges, register_deal_badges

        from .health import signals
        from .models import Flag

        signals.connect()
        # The deal page and deal lists of `opportunities` show each deal's open flags.
        register_deal_badges(
            DealBadges(
                name="flags",
                related_name="flags",
                queryset=lambda: Flag.objects.open().order_by("kind", "id"),
                template="pipeline/_deal_flags.html",
            )
        )
