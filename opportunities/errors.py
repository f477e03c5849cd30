"""The errors services raise. Each carries a message written for the person who acted."""


class DomainError(Exception):
    """A rule refused the action; `message` says why in words a user understands."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class AccessDenied(DomainError):
    """The actor may read the object but not change it (views answer 403)."""


class MissingMilestones(DomainError):
    """Required milestones are not ticked; `missing` names them for the refusal message."""

    def __init__(self, message: str, *, missing: list[str]):
        super().__init__(message)
        self.missing = missing


class ConcurrentEdit(DomainError):
    """Someone else changed the deal since the form was loaded; `changes` says what."""

    def __init__(self, message: str, *, changes: list[str], current_version: int):
        super().__init__(message)
        self.changes = changes
        self.current_version = current_version
