from functools import cached_property

from django.db import connection

from ..models import Notification

NOTIFICATIONS = Notification._meta.db_table


class Bell:
    """The unread count for the bell in the layout: one indexed COUNT, run only if a template
    actually shows it (htmx partials and error pages don't)."""

    def __init__(self, user):
        self.user = user

    @cached_property
    def unread(self) -> int:
        if self.user is None or not self.user.is_authenticated:
            return 0
        # Plain SQL: every page asks, and building the queryset cost five times the query
        # (the `user, read_at` index answers it).
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT COUNT(*) FROM {NOTIFICATIONS} WHERE user_id = %s AND read_at IS NULL", [self.user.pk]
            )
            return cursor.fetchone()[0]
