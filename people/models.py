"""People and teams: who signs in, which team they belong to, what they manage.

The bottom app: every other app reads these facts through `people.access`; nothing here imports
another app of the project.

The tables keep the names they had when these models lived in `pipeline` (`db_table`, including
the many-to-many tables): the move was a change of Python home, not of data.
"""

from django.contrib.auth.models import AbstractUser, Group, Permission
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    REP = "rep", "Rep"
    MANAGER = "manager", "Manager"
    ADMIN = "admin", "Admin"


class Visibility(models.TextChoices):
    OWN = "own", "Reps see only their own deals"
    TEAM = "team", "Reps also see their team's deals, read-only"


class AccountVisibility(models.TextChoices):
    EVERYONE = "everyone", "Everyone reads every account (read-only unless theirs)"
    TEAM = "team", "Reps read their team's accounts"
    OWN = "own", "Reps read only their own accounts"


class Team(models.Model):
    """A sales team: reps who belong to it and the managers who manage it."""

    name = models.CharField(max_length=100, unique=True)
    managers = models.ManyToManyField(
        "people.User", related_name="managed_teams", blank=True, db_table="pipeline_team_managers"
    )

    class Meta:
        db_table = "pipeline_team"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person who signs in: a rep, a manager or an admin, belonging to at most one team.

    The access rules of every app read these facts (role, team, managed teams); nothing else
    decides who sees what.
    """

    role = models.CharField(max_length=10, choices=Role.choices, default=Role.REP)
    team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="members")
    # As in `PermissionsMixin`, only the table names differ: the ones the rows have always had.
    groups = models.ManyToManyField(
        Group,
        verbose_name=_("groups"),
        blank=True,
        help_text=_(
            "The groups this user belongs to. A user will get all permissions granted to each of their groups."
        ),
        related_name="user_set",
        related_query_name="user",
        db_table="pipeline_user_groups",
    )
    user_permissions = models.ManyToManyField(
        Permission,
        verbose_name=_("user permissions"),
        blank=True,
        help_text=_("Specific permissions for this user."),
        related_name="user_set",
        related_query_name="user",
        db_table="pipeline_user_user_permissions",
    )

    class Meta:
        db_table = "pipeline_user"
        ordering = ["first_name", "last_name", "username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN or self.is_superuser

    @property
    def is_manager(self) -> bool:
        return self.role == Role.MANAGER

    def managed_team_ids(self) -> list[int]:
        if not self.is_manager:
            return []
        cached = getattr(self, "_managed_team_ids", None)
        if cached is None:
            cached = list(self.managed_teams.values_list("id", flat=True))
            self._managed_team_ids = cached
        return cached

    def sees_team_deals(self) -> bool:
        """Whether this rep may read (not change) the deals of their own team."""
        if self.team_id is None:
            return False
        if not hasattr(self, "_visibility"):
            self._visibility = self._org_settings().visibility
        return self._visibility == Visibility.TEAM

    def _org_settings(self) -> "OrgSettings":
        """The organisation's settings, read once per user object (once a request) for both rules."""
        if not hasattr(self, "_org_settings_row"):
            self._org_settings_row = OrgSettings.current()
        return self._org_settings_row

    def account_visibility(self) -> str:
        return self._org_settings().account_visibility

    def sees_all_accounts(self) -> bool:
        return self.account_visibility() == AccountVisibility.EVERYONE

    def sees_team_accounts(self) -> bool:
        """Whether this rep may read the accounts owned by their own team (when not all)."""
        return self.team_id is not None and self.account_visibility() == AccountVisibility.TEAM

    def reopen_days(self) -> int:
        """How many days after closing this user may reopen a deal they own (`access.can_reopen`)."""
        return self._org_settings().reopen_days

    def manages(self, other: "User") -> bool:
        return other.team_id is not None and other.team_id in self.managed_team_ids()


class OrgSettings(models.Model):
    """Installation-wide settings that admins change at run time (one row)."""

    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.TEAM)
    # Accounts are shared company knowledge by default (duplicates hurt); "team" and "own" are for
    # organisations whose reps must not read each other's customers and contacts.
    account_visibility = models.CharField(
        max_length=10, choices=AccountVisibility.choices, default=AccountVisibility.EVERYONE
    )
    # A rep who closed a deal by mistake (or whose buyer came back) should not wait for their
    # manager for a few days; after that, reopening rewrites settled numbers and is the manager's.
    reopen_days = models.PositiveSmallIntegerField(
        default=7,
        validators=[MaxValueValidator(365)],
        help_text="How many days after closing a rep may reopen their own deal (0: never). "
        "Managers and admins may always reopen.",
    )
    # A closed deal's post-mortem is due this many days after the close.
    review_due_days = models.PositiveSmallIntegerField(
        default=7, help_text="Days after a close within which its post-mortem is due."
    )

    class Meta:
        db_table = "pipeline_orgsettings"
        verbose_name = "organisation settings"
        verbose_name_plural = "organisation settings"

    def __str__(self) -> str:
        return "Organisation settings"

    @classmethod
    def current(cls) -> "OrgSettings":
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj


class TokenScope(models.TextChoices):
    READ = "read", "Read only"
    WRITE = "write", "Read and write"


class ApiTokenQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    """A personal API token: the API acts as its user, within its scope.

    Only a SHA-256 digest of the secret is stored; the secret is shown once, when the token is
    made. `prefix` (the secret's first characters) lets the owner tell tokens apart in the list.
    A revoked token is kept (revoked_at set) so the list shows what was once issued.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16)
    digest = models.CharField(max_length=64, unique=True)
    scope = models.CharField(max_length=5, choices=TokenScope.choices, default=TokenScope.READ)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_read_only(self) -> bool:
        return self.scope == TokenScope.READ
