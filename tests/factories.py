"""factory_boy factories for the domain models.

Factories write rows directly, which is right for arranging fixtures. The real write path is
`opportunities.services`: a test about a rule should act through a service, not a factory.
"""

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from opportunities.models import (
    Account,
    AccountStatus,
    Activity,
    ActivityKind,
    Contact,
    LostReason,
    NextStep,
    Opportunity,
)
from people.models import Role, Team, User
from stages.models import Milestone, SalesProcess, Stage

PASSWORD = "pw"


class TeamFactory(DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")


class UserFactory(DjangoModelFactory):
    """A rep by default; `UserFactory(manager=True, manages=[team])`, `UserFactory(admin=True)`."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    class Params:
        manager = factory.Trait(role=Role.MANAGER)
        admin = factory.Trait(role=Role.ADMIN, is_staff=True, is_superuser=True)

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "User"
    last_name = factory.Sequence(lambda n: f"No{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    role = Role.REP
    team = None
    is_active = True

    @factory.post_generation
    def password(obj, create, extracted, **kwargs):
        obj.set_password(extracted or PASSWORD)
        if create:
            obj.save(update_fields=["password"])

    @factory.post_generation
    def manages(obj, create, extracted, **kwargs):
        """Teams this user manages: `UserFactory(manager=True, manages=[team])`."""
        if create and extracted:
            for team in extracted:
                team.managers.add(obj)


class SalesProcessFactory(DjangoModelFactory):
    class Meta:
        model = SalesProcess

    name = factory.Sequence(lambda n: f"Process {n}")
    is_active = True


class StageFactory(DjangoModelFactory):
    class Meta:
        model = Stage

    process = factory.SubFactory(SalesProcessFactory)
    name = factory.Sequence(lambda n: f"Stage {n}")
    order = factory.Sequence(lambda n: n)
    win_probability = 10


class MilestoneFactory(DjangoModelFactory):
    class Meta:
        model = Milestone

    stage = factory.SubFactory(StageFactory)
    name = factory.Sequence(lambda n: f"Milestone {n}")
    is_required = True
    order = factory.Sequence(lambda n: n)


class AccountFactory(DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Account {n}")
    owner = factory.SubFactory(UserFactory)
    status = AccountStatus.TARGET


class ContactFactory(DjangoModelFactory):
    class Meta:
        model = Contact

    account = factory.SubFactory(AccountFactory)
    first_name = "Contact"
    last_name = factory.Sequence(lambda n: f"No{n}")
    email = factory.LazyAttribute(lambda c: f"{c.first_name}.{c.last_name}@example.com".lower())


class LostReasonFactory(DjangoModelFactory):
    class Meta:
        model = LostReason
        # A data migration installs the usual reasons ("Price", "Timing", …).
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Reason {n}")
    is_active = True


class OpportunityFactory(DjangoModelFactory):
    """An open deal in `stage` (by default a fresh process's only stage). No events are written:
    use `services.opportunity_create` when the history matters."""

    class Meta:
        model = Opportunity

    stage = factory.SubFactory(StageFactory)
    process = factory.LazyAttribute(lambda o: o.stage.process)
    owner = factory.SubFactory(UserFactory)
    account = factory.SubFactory(AccountFactory, owner=factory.SelfAttribute("..owner"))
    name = factory.Sequence(lambda n: f"Deal {n}")
    amount = Decimal("10000.00")
    expected_close_date = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=30))

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # A deal made closed keeps its account's segment, as closing through the services does.
        deal = model_class(*args, **kwargs)
        deal.remember_closing_segment()
        deal.save()
        return deal


class NextStepFactory(DjangoModelFactory):
    """An open next step. Point `opportunity.next_step` at it yourself (services do that)."""

    class Meta:
        model = NextStep

    opportunity = factory.SubFactory(OpportunityFactory)
    description = factory.Sequence(lambda n: f"Step {n}")
    due_date = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=7))
    owner = factory.SelfAttribute("opportunity.owner")
    created_by = factory.SelfAttribute("opportunity.owner")


class ActivityFactory(DjangoModelFactory):
    class Meta:
        model = Activity

    account = factory.SubFactory(AccountFactory)
    opportunity = None
    kind = ActivityKind.CALL
    subject = factory.Sequence(lambda n: f"Call {n}")
    created_by = factory.SelfAttribute("account.owner")


STAGE_NAMES = ["Qualify", "Discover", "Propose", "Negotiate", "Commit", "Contract"]


def make_process(stages: int = 3, milestones: int = 2, required: bool = True, optional: int = 0, **fields):
    """A process with `stages` ordered stages ("Qualify", "Discover", "Propose", …), each with
    `milestones` milestones ("Check 1", "Check 2", …, required or not per `required`) and
    `optional` further optional ones ("Optional 1", …).

    Gate messages then read "Qualify: Check 1".
    """
    process = SalesProcessFactory(**fields)
    for i in range(stages):
        name = STAGE_NAMES[i] if i < len(STAGE_NAMES) else f"Stage {i + 1}"
        stage = StageFactory(process=process, name=name, order=(i + 1) * 10, win_probability=min(100, 10 * (i + 1)))
        for j in range(milestones):
            MilestoneFactory(stage=stage, name=f"Check {j + 1}", is_required=required, order=j)
        for j in range(optional):
            MilestoneFactory(stage=stage, name=f"Optional {j + 1}", is_required=False, order=milestones + j)
    return process
