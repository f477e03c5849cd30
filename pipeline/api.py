"""The API of the pipeline features and of the sales processes: flags (read), notifications (read,
mark read), quotas (read, set), and the processes with their stages and milestones (read).

The same access rules and services as the pages: flags of deals the user may read; one's own
notifications; the quotas of the people on the user's quotas page, set through
`reports.services.quota_set`.
"""

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from opportunities.api import READ_ERRORS, WRITE_ERRORS, NamedRefSerializer, ServiceApi, UserRefSerializer
from opportunities.api_fields import IdField
from stages.models import Milestone, SalesProcess, Stage

from .models import Flag, FlagKind, Notification, Quota
from .notify import services as notify_services
from .reports import services as report_services
from .reports.dashboard import people_for
from .reports.quarters import quarter_of

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


class StageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    order = serializers.IntegerField()
    objective = serializers.CharField()
    win_probability = serializers.IntegerField()
    milestones = MilestoneSerializer(many=True)


class ProcessSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    is_active = serializers.BooleanField()
    stages = StageSerializer(many=True)


def _processes():
    milestones = Prefetch("milestones", queryset=Milestone.objects.order_by("order", "id"))
    stages = Prefetch("stages", queryset=Stage.objects.order_by("order", "id").prefetch_related(milestones))
    return SalesProcess.objects.prefetch_related(stages).order_by("name", "id")


class ProcessListApi(ServiceApi):
    """The sales processes, each with its stages in order and their milestones (admins change them
    in the admin site)."""

    pagination_class = PageNumberPagination  # read by the schema generator
    OutputSerializer = ProcessSerializer

    @extend_schema(responses={200: OutputSerializer(many=True), **READ_ERRORS})
    def get(self, request):
        return self.paginate(_processes(), self.OutputSerializer)


class ProcessDetailApi(ServiceApi):
    OutputSerializer = ProcessSerializer

    @extend_schema(responses={200: OutputSerializer, **READ_ERRORS})
    def get(self, request, pk: int):
        return Response(self.OutputSerializer(get_object_or_404(_processes(), pk=pk)).data)
