"""The error people's services raise, with a message written for the person who acted."""


class PeopleError(Exception):
    """A rule refused the action; `message` says why."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
