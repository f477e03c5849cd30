"""The API of the pipeline features and of the sales processes: flags (read), notifications (read,
mark read), quotas (read, set), and the processes with their stages and milestones (read for
everyone; admins create and change them through `stages.services`).

The same access rules and services as the pages: flags of deals the user may read; one's own
notifications; the quotas of the people on the user's quotas page, set through
`reports.services.quota_set`.
"""

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from opportunities.api import (
    READ_ERRORS,
    WRITE_ERRORS,
    ErrorSerializer,
    NamedRefSerializer,
    ServiceApi,
    UserRefSerializer,
)
from opportunities.api_fields import IdField, NameField
from stages import services as process_services
from stages.errors import ProcessAccessDenied, ProcessError, ProcessInUse
from stages.models import ForecastCategory, Milestone, SalesProcess, Stage

from ..models import Flag, FlagKind, Notification, Quota
from ..notify import services as notify_services
from ..reports import services as report_services
from ..reports.dashboard import people_for
from ..reports.quarters import quarter_of

# --- flags ------------------------------------------------------------------------------------------


class FlagSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    opportunity = NamedRefSerializer()
    kind = serializers.CharField(help_text="idle, stuck, no_next_step, next_step_overdue or close_date_slipped.")
    explanation = serializers.CharField(help_text="The flag in words, as the pages show it.")
    opened_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)


class FlagListApi(ServiceApi):
    """The flags of deals you may read (Needs attention): open ones unless `state=all`."""

    pagination_class = PageNumberPagination  # read by the schema generator

    class FilterSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=FlagKind.choices, required=False)
        opportunity = IdField(required=False)
        state = serializers.ChoiceField(choices=[("open", "Open"), ("all", "All")], required=False, default="open")

    OutputSerializer = FlagSerializer

    @extend_schema(parameters=[FilterSerializer], responses={200: OutputSerializer(many=True), **READ_ERRORS})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        f = filters.validated_data
        flags = Flag.objects.for_user(request.user).select_related("opportunity")
        if f["state"] == "open":
            flags = flags.open()
        if "kind" in f:
            flags = flags.filter(kind=f["kind"])
        if "opportunity" in f:
            flags = flags.filter(opportunity_id=f["opportunity"])
        return self.paginate(flags.order_by("-opened_at", "-id"), self.OutputSerializer)


# --- notifications ------------------------------------------------------------------------------------


class NotificationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    message = serializers.CharField()
    url = serializers.CharField(help_text="The page it is about, relative to the site; may be blank.")
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)


class NotificationListApi(ServiceApi):
    """Your notifications (the bell), newest first."""

    pagination_class = PageNumberPagination  # read by the schema generator

    class FilterSerializer(serializers.Serializer):
        unread = serializers.BooleanField(required=False, default=False, help_text="Only the unread ones.")

    OutputSerializer = NotificationSerializer

    @extend_schema(parameters=[FilterSerializer], responses={200: OutputSerializer(many=True), **READ_ERRORS})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        items = Notification.objects.filter(user=request.user)
        if filters.validated_data["unread"]:
            items = items.filter(read_at__isnull=True)
        return self.paginate(items.order_by("-created_at", "-id"), self.OutputSerializer)


class NotificationReadApi(ServiceApi):
    """Mark one of your notifications read (another's does not exist for you: 404)."""

    @extend_schema(request=None, responses={200: NotificationSerializer, **READ_ERRORS})
    def post(self, request, pk: int):
        notification = get_object_or_404(Notification.objects.filter(user=request.user), pk=pk)
        notification = notify_services.notification_mark_read(notification, actor=request.user)
        return Response(NotificationSerializer(notification).data)


class NotificationReadAllApi(ServiceApi):
    """Mark all your notifications read."""

    class OutputSerializer(serializers.Serializer):
        marked = serializers.IntegerField(help_text="How many were unread.")

    @extend_schema(request=None, responses={200: OutputSerializer})
    def post(self, request):
        return Response({"marked": notify_services.notifications_mark_all_read(actor=request.user)})


# --- quotas -------------------------------------------------------------------------------------------


class QuotaSerializer(serializers.Serializer):
    user = UserRefSerializer()
    year = serializers.IntegerField()
    quarter = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True, help_text="Null when unset.")
    may_set = serializers.BooleanField(help_text="Whether you may set this person's quota.")


def _quota_row(actor, person, year: int, quarter: int, amount) -> dict:
    may_set = report_services.quota_may_set(actor, person)
    return {"user": person, "year": year, "quarter": quarter, "amount": amount, "may_set": may_set}


class QuotaListApi(ServiceApi):
    """One quarter's quotas of everyone on your quotas page (a rep: themselves; a manager: their
    teams; an admin: everyone)."""

    class FilterSerializer(serializers.Serializer):
        year = serializers.IntegerField(min_value=2000, max_value=2100, required=False)
        quarter = serializers.IntegerField(min_value=1, max_value=4, required=False)

    OutputSerializer = QuotaSerializer

    @extend_schema(parameters=[FilterSerializer], responses={200: OutputSerializer(many=True), **READ_ERRORS})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        current_year, current_quarter = quarter_of(timezone.localdate())
        year = filters.validated_data.get("year", current_year)
        quarter = filters.validated_data.get("quarter", current_quarter)
        people = [p for p in people_for(request.user) if p.is_active]
        amounts = dict(
            Quota.objects.filter(user__in=people, year=year, quarter=quarter).values_list("user_id", "amount")
        )
        rows = [_quota_row(request.user, p, year, quarter, amounts.get(p.pk)) for p in people]
        return Response(self.OutputSerializer(rows, many=True).data)


class QuotaSetApi(ServiceApi):
    """Set one person's quota for a quarter (managers: their teams' members; admins: anyone)."""

    class InputSerializer(serializers.Serializer):
        year = serializers.IntegerField(min_value=2000, max_value=2100)
        quarter = serializers.IntegerField(min_value=1, max_value=4)
        amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)

    @extend_schema(request=InputSerializer, responses={200: QuotaSerializer, **WRITE_ERRORS})
    def post(self, request, user_id: int):
        person = next((p for p in people_for(request.user) if p.is_active and p.pk == user_id), None)
        if person is None:
            raise NotFound("No such person among those whose quotas you see.")
        if not report_services.quota_may_set(request.user, person):
            raise PermissionDenied(f"You cannot set {person}'s quota.")
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        quota = report_services.quota_set(actor=request.user, user=person, **serializer.validated_data)
        row = _quota_row(request.user, person, quota.year, quota.quarter, quota.amount)
        return Response(QuotaSerializer(row).data, status=status.HTTP_200_OK)


# --- sales processes --------------------------------------------------------------------------------------


class MilestoneSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    is_required = serializers.BooleanField()
    order = serializers.IntegerField()
    retired_at = serializers.DateTimeField(
        allow_null=True, help_text="When an admin retired it (it no longer gates or takes ticks); null while in force."
    )


class StageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    order = serializers.IntegerField()
    objective = serializers.CharField()
    guidance = serializers.CharField(help_text="Coaching shown on a deal while it is in this stage.")
    win_probability = serializers.IntegerField(help_text="Default chance of winning, in percent.")
    forecast_category = serializers.CharField(help_text="pipeline, best_case or commit.")
    stuck_after_days = serializers.IntegerField()
    idle_after_days = serializers.IntegerField()
    slip_push_limit = serializers.IntegerField()
    buying_team_touch_days = serializers.IntegerField()
    milestones = MilestoneSerializer(many=True)


class ProcessSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    is_active = serializers.BooleanField()
    stages = StageSerializer(many=True)


class StageDetailSerializer(StageSerializer):
    process = serializers.IntegerField(source="process_id")


class MilestoneDetailSerializer(MilestoneSerializer):
    stage = serializers.IntegerField(source="stage_id")


def _processes():
    milestones = Prefetch("milestones", queryset=Milestone.objects.live().order_by("order", "id"))
    stages = Prefetch("stages", queryset=Stage.objects.order_by("order", "id").prefetch_related(milestones))
    return SalesProcess.objects.prefetch_related(stages).order_by("name", "id")


def _stage(pk: int) -> Stage:
    milestones = Prefetch("milestones", queryset=Milestone.objects.live().order_by("order", "id"))
    return get_object_or_404(Stage.objects.select_related("process").prefetch_related(milestones), pk=pk)


CONFIGURE_ERRORS = {
    **WRITE_ERRORS,
    403: OpenApiResponse(ErrorSerializer, description="Only admins change sales processes."),
}
REMOVE_ERRORS = {
    **CONFIGURE_ERRORS,
    409: OpenApiResponse(ErrorSerializer, description="Deals or their history refer to it: it cannot be removed."),
}


class ProcessApi(ServiceApi):
    """Base of the sales-process endpoints: everyone reads them; only admins change them, through
    `stages.services`, whose `ProcessError`s are answered like the other services' refusals."""

    def handle_exception(self, exc):
        if isinstance(exc, ProcessError):
            body = {"detail": exc.message}
            if exc.field:
                body["field"] = exc.field
            if isinstance(exc, ProcessAccessDenied):
                code = status.HTTP_403_FORBIDDEN
            elif isinstance(exc, ProcessInUse):
                code = status.HTTP_409_CONFLICT
            else:
                code = status.HTTP_400_BAD_REQUEST
            return Response(body, status=code)
        return super().handle_exception(exc)


class _ProcessFields(serializers.Serializer):
    name = NameField(max_length=100)
    description = serializers.CharField(max_length=process_services.MAX_LONG_TEXT, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False, help_text="Inactive processes take no new deals.")


class _StageFields(serializers.Serializer):
    name = NameField(max_length=100)
    order = serializers.IntegerField(
        min_value=0,
        max_value=process_services.MAX_ORDER,
        required=False,
        help_text="Stages run in ascending order; each stage of a process has its own. Leave out to add it last.",
    )
    objective = NameField(max_length=300, required=False, allow_blank=True)
    guidance = serializers.CharField(max_length=process_services.MAX_LONG_TEXT, required=False, allow_blank=True)
    win_probability = serializers.IntegerField(min_value=0, max_value=100, required=False)
    forecast_category = serializers.ChoiceField(choices=ForecastCategory.choices, required=False)
    stuck_after_days = serializers.IntegerField(min_value=0, max_value=process_services.MAX_DAYS, required=False)
    idle_after_days = serializers.IntegerField(min_value=0, max_value=process_services.MAX_DAYS, required=False)
    slip_push_limit = serializers.IntegerField(min_value=0, max_value=process_services.MAX_DAYS, required=False)
    buying_team_touch_days = serializers.IntegerField(min_value=0, max_value=process_services.MAX_DAYS, required=False)


class _MilestoneFields(serializers.Serializer):
    name = NameField(max_length=150)
    description = serializers.CharField(max_length=process_services.MAX_LONG_TEXT, required=False, allow_blank=True)
    is_required = serializers.BooleanField(required=False, help_text="Required milestones gate moving past the stage.")
    order = serializers.IntegerField(
        min_value=0, max_value=process_services.MAX_ORDER, required=False, help_text="Leave out to add it last."
    )


def _valid(serializer_class, request, *, partial: bool = False) -> dict:
    serializer = serializer_class(data=request.data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class ProcessListApi(ProcessApi):
    """The sales processes, each with its stages in order and their milestones; admins add one."""

    pagination_class = PageNumberPagination  # read by the schema generator
    OutputSerializer = ProcessSerializer

    class InputSerializer(_ProcessFields):
        pass

    @extend_schema(responses={200: OutputSerializer(many=True), **READ_ERRORS})
    def get(self, request):
        return self.paginate(_processes(), self.OutputSerializer)

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer, **CONFIGURE_ERRORS})
    def post(self, request):
        process_services.check_may_configure(request.user)
        process = process_services.process_create(actor=request.user, **_valid(self.InputSerializer, request))
        return Response(self.OutputSerializer(_processes().get(pk=process.pk)).data, status=status.HTTP_201_CREATED)


class ProcessDetailApi(ProcessApi):
    """One sales process; admins rename, describe, deactivate or reactivate it (nothing is deleted:
    deals hold its stages)."""

    OutputSerializer = ProcessSerializer

    class InputSerializer(_ProcessFields):
        pass

    @extend_schema(responses={200: OutputSerializer, **READ_ERRORS})
    def get(self, request, pk: int):
        return Response(self.OutputSerializer(get_object_or_404(_processes(), pk=pk)).data)

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer, **CONFIGURE_ERRORS})
    def patch(self, request, pk: int):
        process = get_object_or_404(SalesProcess.objects.all(), pk=pk)
        process_services.check_may_configure(request.user)
        data = _valid(self.InputSerializer, request, partial=True)
        process_services.process_update(actor=request.user, process=process, **data)
        return Response(self.OutputSerializer(_processes().get(pk=pk)).data)


class ProcessStageListApi(ProcessApi):
    """Admins add a stage to the process (last, unless `order` places it)."""

    OutputSerializer = StageDetailSerializer

    class InputSerializer(_StageFields):
        pass

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer, **CONFIGURE_ERRORS})
    def post(self, request, pk: int):
        process = get_object_or_404(SalesProcess.objects.all(), pk=pk)
        process_services.check_may_configure(request.user)
        stage = process_services.stage_create(
            actor=request.user, process=process, **_valid(self.InputSerializer, request)
        )
        return Response(self.OutputSerializer(_stage(stage.pk)).data, status=status.HTTP_201_CREATED)


class ProcessStageOrderApi(ProcessApi):
    """Admins put the process's stages in a new order: every stage's id, once, first to last."""

    OutputSerializer = ProcessSerializer

    class InputSerializer(serializers.Serializer):
        stages = serializers.ListField(
            child=IdField(), max_length=200, help_text="The ids of all the process's stages, in their new order."
        )

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer, **CONFIGURE_ERRORS})
    def post(self, request, pk: int):
        process = get_object_or_404(SalesProcess.objects.all(), pk=pk)
        process_services.check_may_configure(request.user)
        ids = _valid(self.InputSerializer, request)["stages"]
        process_services.stage_reorder(actor=request.user, process=process, stage_ids=ids)
        return Response(self.OutputSerializer(_processes().get(pk=pk)).data)


class StageDetailApi(ProcessApi):
    """One stage with its milestones in force; admins change its name, place, objective, guidance,
    forecast meaning and health thresholds, or remove it while no deal or history refers to it
    (409 otherwise)."""

    OutputSerializer = StageDetailSerializer

    class InputSerializer(_StageFields):
        pass

    @extend_schema(responses={200: OutputSerializer, **READ_ERRORS})
    def get(self, request, pk: int):
        return Response(self.OutputSerializer(_stage(pk)).data)

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer, **CONFIGURE_ERRORS})
    def patch(self, request, pk: int):
        stage = _stage(pk)
        process_services.check_may_configure(request.user)
        data = _valid(self.InputSerializer, request, partial=True)
        process_services.stage_update(actor=request.user, stage=stage, **data)
        return Response(self.OutputSerializer(_stage(pk)).data)

    @extend_schema(request=None, responses={204: None, **REMOVE_ERRORS})
    def delete(self, request, pk: int):
        stage = _stage(pk)
        process_services.check_may_configure(request.user)
        process_services.stage_remove(actor=request.user, stage=stage)
        return Response(status=status.HTTP_204_NO_CONTENT)


class StageMilestoneOrderApi(ProcessApi):
    """Admins put the stage's milestones in force in a new order: every one's id, once, first to last."""

    OutputSerializer = StageDetailSerializer

    class InputSerializer(serializers.Serializer):
        order = serializers.ListField(
            child=IdField(),
            max_length=50,
            help_text="The ids of all the stage's milestones in force, in their new order.",
        )

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer, **CONFIGURE_ERRORS})
    def post(self, request, pk: int):
        stage = _stage(pk)
        process_services.check_may_configure(request.user)
        ids = _valid(self.InputSerializer, request)["order"]
        process_services.milestone_reorder(actor=request.user, stage=stage, order=ids)
        return Response(self.OutputSerializer(_stage(pk)).data)


class StageMilestoneListApi(ProcessApi):
    """Admins add a milestone (exit criterion) to the stage: a stage has 2 to 4."""

    OutputSerializer = MilestoneDetailSerializer

    class InputSerializer(_MilestoneFields):
        pass

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer, **CONFIGURE_ERRORS})
    def post(self, request, pk: int):
        stage = _stage(pk)
        process_services.check_may_configure(request.user)
        data = _valid(self.InputSerializer, request)
        milestone = process_services.milestone_create(actor=request.user, stage=stage, **data)
        return Response(self.OutputSerializer(milestone).data, status=status.HTTP_201_CREATED)


class StageMilestoneDetailApi(ProcessApi):
    """One milestone of the stage; admins change its name, description, whether it is required, or
    its place, or remove it: deleted (204) when no deal ever ticked it, retired (200, with
    `retired_at`) when one did, so the history keeps it. A stage keeps at least two."""

    OutputSerializer = MilestoneDetailSerializer

    class InputSerializer(_MilestoneFields):
        pass

    @extend_schema(responses={200: OutputSerializer, **READ_ERRORS})
    def get(self, request, pk: int, milestone_id: int):
        return Response(self.OutputSerializer(self._milestone(pk, milestone_id)).data)

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer, **CONFIGURE_ERRORS})
    def patch(self, request, pk: int, milestone_id: int):
        milestone = self._milestone(pk, milestone_id)
        process_services.check_may_configure(request.user)
        data = _valid(self.InputSerializer, request, partial=True)
        milestone = process_services.milestone_update(actor=request.user, milestone=milestone, **data)
        return Response(self.OutputSerializer(milestone).data)

    @extend_schema(
        request=None,
        responses={
            200: OpenApiResponse(OutputSerializer, description="Retired: deals ticked it, the history keeps it."),
            204: OpenApiResponse(description="Deleted: nothing referred to it."),
            **REMOVE_ERRORS,
        },
    )
    def delete(self, request, pk: int, milestone_id: int):
        milestone = self._milestone(pk, milestone_id)
        process_services.check_may_configure(request.user)
        retired = process_services.milestone_remove(actor=request.user, milestone=milestone)
        if retired is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(self.OutputSerializer(retired).data)

    @staticmethod
    def _milestone(stage_id: int, milestone_id: int) -> Milestone:
        # The stage by its own key first: an id beyond the database's integers is then simply absent.
        stage = get_object_or_404(Stage.objects.all(), pk=stage_id)
        return get_object_or_404(Milestone.objects.select_related("stage"), pk=milestone_id, stage=stage)
