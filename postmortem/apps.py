from django.apps import AppConfig


class PostmortemConfig(AppConfig):
    name = "postmortem"
    verbose_name = "Post-mortems"

    def ready(self) -> None:
        from . import receivers

        # Every close opens its review, every reopen cancels an unfinished one, in the same
        # transaction as the close (see opportunities.signals).
        receivers.connect()
