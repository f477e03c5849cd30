from functools import cached_property

from ..models import Notification

SHOWN_UP_TO = 99  # the bell says "99+" beyond this, so counting stops just past it


class Bell:
    """The unread count for the bell in the layout: one indexed COUNT (the `user, read_at`
    index answers it), run only if a template actually shows it (htmx partials and error pages
    don't). It counts no further than the bell shows: a rep back from leave with thousands of
    unread notifications would otherwise pay for counting them on every page."""

    def __init__(self, user):
        self.user = user

    @cached_property
    def unread(self) -> int:
        if self.user is None or not self.user.is_authenticated:
            return 0
        # Without the model's newest-first ordering: kept, it made PostgreSQL sort every unread
        # row before the LIMIT (14 ms for a manager with 28,000 unread) instead of reading the
        # first hundred off the index.
        unread = Notification.objects.filter(user_id=self.user.pk, read_at__isnull=True).order_by()
        return unread[: SHOWN_UP_TO + 1].count()
