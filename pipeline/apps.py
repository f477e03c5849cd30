from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "pipeline"
    verbose_name = "Pipeline, teams and people"

    def ready(self) -> None:
        from . import checks, signals  # noqa: F401 — importing checks registers them

        signals.connect()
