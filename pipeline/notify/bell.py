from functools import cached_property

from ..models import Notification


class Bell:
    """The unread count for the bell in the layout: one indexed COUNT (the `user, read_at`
    index answers it), run only if a template actually shows it (htmx partials and error pages
    don't)."""

    def __init__(self, user):
        self.user = user

    @cached_property
    def unread(self) -> int:
        if self.user is None or not self.user.is_authenticated:
            return 0
        return Notification.objects.filter(user_id=self.user.pk, read_at__isnull=True).count()
