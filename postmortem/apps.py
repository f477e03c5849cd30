from django.apps import AppConfig


class PostmortemConfig(AppConfig):
    name = "postmortem"
    verbose_name = "Post-mortems"

    def ready(self) -> None:
        from opportunities.hooks import (
            DealPanel,
            register_deal_panel,
            register_demo_seeder,
            register_reminder_source,
        )

        from . import receivers, reminders
        from .demo import seed_postmortem_demo
        from .lessons import deal_lessons_panel

        # Every close opens its review, every reopen cancels an unfinished one, in the same
        # transaction as the close (see opportunities.signals).
        receivers.connect()
        # The deal page shows the lessons that apply to the deal.
        register_deal_panel(
            DealPanel(
                name="lessons",
                template="postmortem/_deal_lessons.html",
                context=deal_lessons_panel,
                # Ranking every lesson the reader may see takes longer than the rest of the page.
                lazy=True,
                title="Lessons from closed deals",
            )
        )
        # Overdue reviews reach people through pipeline's bell and daily digest.
        register_reminder_source(reminders.SOURCE)
        # The demo company gets post-mortems in every state and their lessons.
        register_demo_seeder("postmortem", seed_postmortem_demo)
