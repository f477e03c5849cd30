"""The errors the sales-process services raise, with a message written for the admin who acted.

`stages` sits below `opportunities`, so it cannot raise `opportunities.errors.DomainError`; the
API answers these the same way (`pipeline.api.views`)."""


class ProcessError(Exception):
    """A rule refused the change to a process, stage or milestone; `message` says why and
    `field`, when there is one, names the input it is about."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class ProcessAccessDenied(ProcessError):
    """The actor may read processes but not change them (only admins configure them: 403)."""


class ProcessInUse(ProcessError):
    """The row cannot be removed: deals, their history or other records refer to it (409)."""
