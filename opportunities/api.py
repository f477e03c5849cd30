"""The REST API: another interface to the same services as the HTML views.

One `APIView` per operation. Each validates its input with a nested `InputSerializer` (shape only:
types, lengths, choices, ids that exist and that the user may use), calls the same service as the
HTML view, and renders the result with an `OutputSerializer`. Business rules live in
`opportunities.services`; `ServiceApi.handle_exception` turns the services' `DomainError`s into
responses. Access mirrors the HTML views: what `for_user` hides is 404, what the user may read but
not change is 403.
"""

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, PermissionDenied
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import APIView

from people.access import can_reopen, get_readable
from stages.models import Milestone, SalesProcess, Stage

from . import search, services
from .api_fields import IdField, NameField, PkField
from .csv_export import deals_csv_response
from .errors import AccessDenied, ConcurrentEdit, DomainError, MissingMilestones
from .filters import API, AccountFilter, ContactFilter, DealFilter
from .models import (
    Account,
    AccountEvent,
    AccountStatus,
    ActivityKind,
    BuyingRole,
    BuyingTeamMember,
    Competitor,
    Contact,
    DealCompetitor,
    DealCompetitorStatus,
    EmployeeBand,
    LeadSource,
    LostReason,
    MilestoneCompletion,
    Opportunity,
    OpportunityEvent,
    RevenueBand,
)

# --- shared pieces ----------------------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    field = serializers.CharField(required=False, help_text="The input the rule is about, when there is one.")


class MissingMilestonesErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    missing = serializers.ListField(child=serializers.CharField(), help_text="“Stage: milestone” names.")


class ConcurrentEditErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    changes = serializers.ListField(child=serializers.CharField(), help_text="What others changed meanwhile.")
    current_version = serializers.IntegerField()


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="__str__")


class NamedRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class NextStepSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    description = serializers.CharField()
    due_date = serializers.DateField()
    owner = serializers.IntegerField(source="owner_id")
    created_at = serializers.DateTimeField()


SOURCE_HELP = ", ".join(LeadSource.values)


def _source_field(**kwargs) -> serializers.ChoiceField:
    """The lead source as input: one of `LeadSource`, or "" for not set."""
    return serializers.ChoiceField(
        choices=LeadSource.choices,
        allow_blank=True,
        help_text="Where the deal came from; empty for not set.",
        error_messages={"invalid_choice": f"“{{input}}” is not a lead source: use one of {SOURCE_HELP}, or empty."},
        **kwargs,
    )


class OpportunitySummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    account = NamedRefSerializer()
    process = NamedRefSerializer()
    stage = NamedRefSerializer()
    owner = UserRefSerializer()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    expected_close_date = serializers.DateField()
    # Output choice fields are plain strings: enums named "status" from two choice sets would
    # collide in the schema (the inputs, which validate, keep theirs).
    status = serializers.CharField(help_text="open, won or lost.")
    closed_on = serializers.DateField(allow_null=True)
    source = serializers.CharField(help_text=f"Where the deal came from: {SOURCE_HELP}; empty when not set.")
    next_step = NextStepSerializer(allow_null=True)
    version = serializers.IntegerField()
    updated_at = serializers.DateTimeField()


class OpportunityDetailSerializer(OpportunitySummarySerializer):
    description = serializers.CharField()
    lost_reason = NamedRefSerializer(allow_null=True)
    close_notes = serializers.CharField()
    closed_stage = NamedRefSerializer(allow_null=True)
    stage_entered_at = serializers.DateTimeField()
    close_date_push_count = serializers.IntegerField()
    last_activity_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    milestones_ticked = serializers.SerializerMethodField(help_text="Ids of the milestones ticked on this deal.")
    can_edit = serializers.SerializerMethodField(help_text="Whether you may change this deal.")

    def get_milestones_ticked(self, opp) -> list[int]:
        return list(
            MilestoneCompletion.objects.filter(opportunity=opp)
            .order_by("milestone_id")
            .values_list("milestone_id", flat=True)
        )

    def get_can_edit(self, opp) -> bool:
        return opp.can_edit(self.context["request"].user)


def domain_error_response(exc: DomainError) -> Response:
    """The one mapping from a service's refusal to an HTTP answer."""
    if isinstance(exc, AccessDenied):
        return Response({"detail": exc.message}, status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, ConcurrentEdit):
        body = {"detail": exc.message, "changes": exc.changes, "current_version": exc.current_version}
        return Response(body, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, MissingMilestones):
        return Response({"detail": exc.message, "missing": exc.missing}, status=status.HTTP_400_BAD_REQUEST)
    body = {"detail": exc.message}
    if exc.field:
        body["field"] = exc.field
    return Response(body, status=status.HTTP_400_BAD_REQUEST)


READ_ERRORS = {404: OpenApiResponse(ErrorSerializer, description="Not visible to you, or does not exist.")}
WRITE_ERRORS = {
    400: OpenApiResponse(
        ErrorSerializer, description="Invalid input ({field: [messages]}) or a rule refused the change ({detail})."
    ),
    403: OpenApiResponse(ErrorSerializer, description="You may read this but not change it."),
    **READ_ERRORS,
}
GATE_ERRORS = {
    **WRITE_ERRORS,
    400: OpenApiResponse(
        MissingMilestonesErrorSerializer,
        description="Required milestones are not done (`missing` names them), or other invalid input.",
    ),
}
CONFLICT_ERRORS = {409: OpenApiResponse(ConcurrentEditErrorSerializer, description="Changed by someone else.")}


class PreconditionFailed(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "Changed by someone else since you read it: read it again (its ETag) and retry."
    default_code = "precondition_failed"


def etag(version: int) -> str:
    """The entity tag of a row that carries a `version`: strong, as the version identifies the change."""
    return f'"{version}"'


def check_if_match(request, obj) -> None:
    """Honour `If-Match` on a write to a versioned row (a deal, a review): 412 unless one of the
    listed tags is the row's current ETag (or the list is `*`). Weak tags never match, as
    RFC 9110 asks of If-Match. The services still check `version` under their lock."""
    header = request.headers.get("If-Match")
    if header is None or request.method in SAFE_METHODS:
        return
    tags = [tag.strip() for tag in header.split(",")]
    if "*" not in tags and etag(obj.version) not in tags:
        raise PreconditionFailed()
    if "*" not in tags:
        # The service checks it again under its row lock: a write that slips in between answers 409.
        request.if_match_version = obj.version


def _expected_version(request, data) -> int | None:
    """The version a write expects: the body's `version`, else the one `If-Match` named."""
    return data.get("version") or getattr(request, "if_match_version", None)


class ServiceApi(APIView):
    """Base of every endpoint: answers the services' `DomainError`s and names the schema components;
    sends the `ETag` of a versioned row it returns from its own URL."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # Every view nests serializers called InputSerializer/OutputSerializer; give each its own
        # schema component name ("OpportunityMoveInput") so the names don't collide.
        stem = cls.__name__.removesuffix("Api")
        for attr in ("InputSerializer", "OutputSerializer", "FilterSerializer"):
            serializer = cls.__dict__.get(attr)
            if serializer is not None and serializer.__qualname__ == f"{cls.__qualname__}.{attr}":
                extend_schema_serializer(component_name=stem + attr.removesuffix("Serializer"))(serializer)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        data = getattr(response, "data", None)
        if (
            request.method in ("GET", "HEAD", "PATCH", "PUT")
            and 200 <= response.status_code < 300
            and isinstance(data, dict)
            and isinstance(data.get("version"), int)
            and "id" in data
        ):
            response["ETag"] = etag(data["version"])
        return response

    def handle_exception(self, exc):
        if isinstance(exc, DomainError):
            return domain_error_response(exc)
        return super().handle_exception(exc)

    def paginate(self, queryset: QuerySet, serializer_class) -> Response:
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(queryset, self.request, view=self)
        return paginator.get_paginated_response(
            serializer_class(page, many=True, context={"request": self.request}).data
        )


def _opportunity(request, pk: int, *, write: bool = False) -> Opportunity:
    related = ("account", "process", "stage", "owner", "next_step", "lost_reason", "closed_stage")
    opp = get_readable(Opportunity.objects.select_related(*related), request.user, pk, write=write)
    check_if_match(request, opp)
    return opp


def _account(request, pk: int, *, write: bool = False) -> Account:
    return get_readable(Account.objects.select_related("owner"), request.user, pk, write=write)


# --- opportunities ------------------------------------------------------------------------------------


class OpportunityListApi(ServiceApi):
    pagination_class = PageNumberPagination  # read by the schema generator

    class InputSerializer(serializers.Serializer):
        account = PkField(queryset=Account.objects.none())
        process = PkField(queryset=SalesProcess.objects.active())
        name = NameField(max_length=200)
        amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
        expected_close_date = serializers.DateField()
        owner = PkField(
            queryset=get_user_model().objects.filter(is_active=True),
            required=False,
            help_text="Leave out to own the deal yourself.",
        )
        source = _source_field(required=False)
        next_step_description = NameField(max_length=300, required=False, allow_blank=True)
        next_step_due_date = serializers.DateField(required=False, allow_null=True)

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            if "request" in self.context:  # absent only when the schema generator instantiates it
                self.fields["account"].queryset = Account.objects.for_user(self.context["request"].user)

        def validate(self, data):
            if bool(data.get("next_step_description")) != bool(data.get("next_step_due_date")):
                raise serializers.ValidationError("Give the next step both a description and a due date, or neither.")
            return data

    OutputSerializer = OpportunitySummarySerializer

    @extend_schema(parameters=DealFilter.parameters(), responses={200: OutputSerializer(many=True), **READ_ERRORS})
    def get(self, request):
        deals = DealFilter(request.query_params, request=request, interface=API).valid_or_400()
        return self.paginate(deals, self.OutputSerializer)

    @extend_schema(request=InputSerializer, responses={201: OpportunityDetailSerializer, **WRITE_ERRORS})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        opp = services.opportunity_create(actor=request.user, **serializer.validated_data)
        return _detail_response(request, opp, status=status.HTTP_201_CREATED)


class OpportunityDetailApi(ServiceApi):
    class InputSerializer(serializers.Serializer):
        version = IdField(help_text="The `version` you last read; 409 if stale.")
        name = NameField(max_length=200, required=False)
        amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False)
        expected_close_date = serializers.DateField(required=False)
        owner = PkField(
            queryset=get_user_model().objects.filter(is_active=True),
            required=False,
            help_text="Reassign (managers within their teams, admins).",
        )
        description = serializers.CharField(max_length=10000, required=False, allow_blank=True)
        source = _source_field(required=False)
        account = PkField(queryset=Account.objects.none(), required=False, help_text="An account you can see.")
        process = PkField(
            queryset=SalesProcess.objects.active(),
            required=False,
            help_text="Move the deal to another sales process; give `stage`, the stage of it the deal lands in.",
        )
        stage = PkField(queryset=Stage.objects.all(), required=False, help_text="With `process` only.")
        override_reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            if "request" in self.context:  # absent only when the schema generator instantiates it
                self.fields["account"].queryset = Account.objects.for_user(self.context["request"].user)

    OutputSerializer = OpportunityDetailSerializer

    @extend_schema(responses={200: OutputSerializer, **READ_ERRORS})
    def get(self, request, pk: int):
        return _detail_response(request, _opportunity(request, pk))

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer, **WRITE_ERRORS, **CONFLICT_ERRORS})
    def patch(self, request, pk: int):
        opp = _opportunity(request, pk, write=True)
        serializer = self.InputSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        opp = services.opportunity_update(opp, actor=request.user, expected_version=data.pop("version"), **data)
        return _detail_response(request, opp)


def _detail_response(request, opp: Opportunity, *, status: int = 200) -> Response:
    # Reload after a write: services return the row they locked, without every relation the output shows.
    opp = Opportunity.objects.select_related(
        "account", "process", "stage", "owner", "next_step", "lost_reason", "closed_stage"
    ).get(pk=opp.pk)
    return Response(OpportunityDetailSerializer(opp, context={"request": request}).data, status=status)


class OpportunityMoveApi(ServiceApi):
    class InputSerializer(serializers.Serializer):
        stage = PkField(queryset=Stage.objects.none(), help_text="A stage of the process.")
        override_reason = serializers.CharField(
            max_length=500,
            required=False,
            allow_blank=True,
            default="",
            help_text="Managers and admins: why the deal may skip missing milestones.",
        )
        version = IdField(required=False, help_text="If given, 409 when stale.")

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            if "opportunity" in self.context:  # absent only when the schema generator instantiates it
                opp = self.context["opportunity"]
                self.fields["stage"].queryset = Stage.objects.filter(process_id=opp.process_id)

    @extend_schema(
        request=InputSerializer, responses={200: OpportunityDetailSerializer, **GATE_ERRORS, **CONFLICT_ERRORS}
    )
    def post(self, request, pk: int):
        opp = _opportunity(request, pk, write=True)
        serializer = self.InputSerializer(data=request.data, context={"opportunity": opp})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.opportunity_move(
            opp,
            actor=request.user,
            to_stage=data["stage"],
            override_reason=data["override_reason"],
            expected_version=_expected_version(request, data),
        )
        return _detail_response(request, opp)


def _version_field():
    return serializers.IntegerField(
        min_value=1, max_value=2**31 - 1, required=False, help_text="If given, 409 when stale."
    )


def _with_expected_version(data: dict, request) -> dict:
    expected = _expected_version(request, data)
    data = dict(data)
    data.pop("version", None)
    data["expected_version"] = expected
    return data


class OpportunityCloseWonApi(ServiceApi):
    class InputSerializer(serializers.Serializer):
        notes = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
        override_reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
        beaten = PkField(
            queryset=Competitor.objects.filter(is_active=True),
            many=True,
            required=False,
            default=list,
            help_text="Ids of the competitors this win beat.",
        )
        version = _version_field()

    @extend_schema(
        request=InputSerializer, responses={200: OpportunityDetailSerializer, **GATE_ERRORS, **CONFLICT_ERRORS}
    )
    def post(self, request, pk: int):
        opp = _opportunity(request, pk, write=True)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.opportunity_close_won(
            opp, actor=request.user, **_with_expected_version(serializer.validated_data, request)
        )
        return _detail_response(request, opp)


class OpportunityCloseLostApi(ServiceApi):
    class InputSerializer(serializers.Serializer):
        reason = PkField(queryset=LostReason.objects.filter(is_active=True))
        notes = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
        lost_to = PkField(
            queryset=Competitor.objects.filter(is_active=True),
            required=False,
            allow_null=True,
            default=None,
            help_text="Id of the competitor the deal was lost to, if any.",
        )
        version = _version_field()

    @extend_schema(
        request=InputSerializer, responses={200: OpportunityDetailSerializer, **WRITE_ERRORS, **CONFLICT_ERRORS}
    )
    def post(self, request, pk: int):
        opp = _opportunity(request, pk, write=True)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.opportunity_close_lost(
            opp, actor=request.user, **_with_expected_version(serializer.validated_data, request)
        )
        return _detail_response(request, opp)


class OpportunityReopenApi(ServiceApi):
    class InputSerializer(serializers.Serializer):
        next_description = NameField(max_length=300, required=False, allow_blank=True, default="")
        next_due_date = serializers.DateField(required=False, allow_null=True, default=None)
        waiting_until = serializers.DateField(required=False, allow_null=True, default=None)
        version = _version_field()

        def validate(self, data):
            # Reopening asks for the deal's next step, as the page does (closing finished the old one).
            _either_step_or_wait(
                data["next_description"],
                data["next_due_date"],
                data["waiting_until"],
                description_name="next_description",
                due_name="next_due_date",
            )
            return data

    @extend_schema(
        request=InputSerializer, responses={200: OpportunityDetailSerializer, **WRITE_ERRORS, **CONFLICT_ERRORS}
    )
    def post(self, request, pk: int):
        opp = _opportunity(request, pk)
        # As in the HTML view: reopening is for the deal's manager or an admin, or its owner soon
        # after closing (`can_reopen`); anyone else hears 403 whatever the deal's state; the
        # service checks again under its lock.
        user = request.user
        if not can_reopen(user, opp):
            raise PermissionDenied("Only the deal's manager or an admin can reopen it (its owner, soon after closing).")
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.opportunity_reopen(
            opp, actor=request.user, **_with_expected_version(serializer.validated_data, request)
        )
        return _detail_response(request, opp)


class OpportunityReassignApi(ServiceApi):
    class InputSerializer(serializers.Serializer):
        owner = PkField(queryset=get_user_model().objects.filter(is_active=True), help_text="The new owner.")

    @extend_schema(request=InputSerializer, responses={200: OpportunityDetailSerializer, **WRITE_ERRORS})
    def post(self, request, pk: int):
        opp = _opportunity(request, pk, write=True)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.opportunity_reassign(opp, actor=request.user, owner=serializer.validated_data["owner"])
        return _detail_response(request, opp)


class OpportunityBulkApi(ServiceApi):
    """One action on many deals: each deal is its own transaction, so one refused (a gate, a
    deal the user may read but not change) is reported and does not stop the others. Ids the
    user may not read are refused as not found. `export` answers with the deals as CSV."""

    class InputSerializer(serializers.Serializer):
        action = serializers.ChoiceField(choices=["reassign", "move", "close_lost", "export"])
        ids = serializers.ListField(
            child=IdField(), min_length=1, max_length=services.BULK_LIMIT, help_text="The deals' ids."
        )
        owner = PkField(queryset=get_user_model().objects.filter(is_active=True), required=False)
        stage = PkField(queryset=Stage.objects.all(), required=False)
        reason = PkField(queryset=LostReason.objects.filter(is_active=True), required=False)
        notes = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")

        def validate(self, data):
            need = {"reassign": "owner", "move": "stage", "close_lost": "reason"}.get(data["action"])
            if need and need not in data:
                raise serializers.ValidationError({need: [f"Required for `{data['action']}`."]})
            return data

    class OutputSerializer(serializers.Serializer):
        class RefusedSerializer(serializers.Serializer):
            id = serializers.IntegerField()
            detail = serializers.CharField()

        done = serializers.ListField(child=serializers.IntegerField(), help_text="Ids of the deals changed.")
        refused = RefusedSerializer(many=True, help_text="The deals refused, each with why.")

    @extend_schema(
        request=InputSerializer,
        responses={
            200: OpenApiResponse(OutputSerializer, description="What was done (CSV for export)."),
            **WRITE_ERRORS,
        },
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        ids = list(dict.fromkeys(data["ids"]))
        found = {
            opp.pk: opp for opp in Opportunity.objects.for_user(request.user).with_list_relations().filter(pk__in=ids)
        }
        deals = [found[pk] for pk in ids if pk in found]
        if data["action"] == "export":
            return deals_csv_response(deals, filename="deals-selection.csv")
        user = request.user
        match data["action"]:
            case _ if not deals:  # none of them visible: each is reported as not found below
                result = services.BulkResult()
            case "reassign":
                result = services.opportunity_bulk_reassign(actor=user, opportunities=deals, owner=data["owner"])
            case "move":
                result = services.opportunity_bulk_move(actor=user, opportunities=deals, to_stage=data["stage"])
            case _:
                result = services.opportunity_bulk_close_lost(
                    actor=user, opportunities=deals, reason=data["reason"], notes=data["notes"]
                )
        refused = [{"id": pk, "detail": "Not found."} for pk in ids if pk not in found]
        refused += [{"id": opp.pk, "detail": why} for opp, why in result.refused]
        return Response({"done": [opp.pk for opp in result.done], "refused": refused})


class CompetitorSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    website = serializers.CharField()
    notes = serializers.CharField()
    is_active = serializers.BooleanField()


class DealCompetitorSerializer(serializers.Serializer):
    competitor = NamedRefSerializer()
    status = serializers.CharField(help_text="evaluating, preferred or eliminated.")
    beaten = serializers.BooleanField(help_text="Whether the deal, closed won, beat it.")
    added_at = serializers.DateTimeField()


class CompetitorListApi(ServiceApi):
    """The competitor list (admins keep it in the admin site): the active ones to pick from."""

    pagination_class = PageNumberPagination  # read by the schema generator
    OutputSerializer = CompetitorSerializer

    @extend_schema(responses={200: OutputSerializer(many=True)})
    def get(self, request):
        return self.paginate(Competitor.objects.filter(is_active=True).order_by("name", "id"), self.OutputSerializer)


class OpportunityCompetitorsApi(ServiceApi):
    """The competitors in play on a deal: list them, set one (POST), take one off (DELETE)."""

    class InputSerializer(serializers.Serializer):
        competitor = PkField(queryset=Competitor.objects.all())
        status = serializers.ChoiceField(
            choices=DealCompetitorStatus.choices, required=False, default=DealCompetitorStatus.EVALUATING
        )

    class RemoveSerializer(serializers.Serializer):
        competitor = PkField(queryset=Competitor.objects.all())

    OutputSerializer = DealCompetitorSerializer

    def _rows(self, opp):
        rows = DealCompetitor.objects.filter(opportunity=opp).select_related("competitor")
        return Response(self.OutputSerializer(rows, many=True).data)

    @extend_schema(responses={200: OutputSerializer(many=True), **READ_ERRORS})
    def get(self, request, pk: int):
        return self._rows(_opportunity(request, pk))

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer(many=True), **WRITE_ERRORS})
    def post(self, request, pk: int):
        opp = _opportunity(request, pk, write=True)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.deal_competitor_set(opp, actor=request.user, **serializer.validated_data)
        return self._rows(opp)

    @extend_schema(request=RemoveSerializer, responses={200: OutputSerializer(many=True), **WRITE_ERRORS})
    def delete(self, request, pk: int):
        opp = _opportunity(request, pk, write=True)
        serializer = self.RemoveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.deal_competitor_remove(opp, actor=request.user, **serializer.validated_data)
        return self._rows(opp)


class BuyingTeamMemberSerializer(serializers.Serializer):
    contact = NamedRefSerializer(source="contact_ref")
    roles = serializers.ListField(child=serializers.CharField(), help_text="Buying roles, e.g. champion.")
    added_at = serializers.DateTimeField()


class OpportunityBuyingTeamApi(ServiceApi):
    """A deal's buying team: list it, add a contact of the deal's account or change their roles
    (POST), take one off (DELETE)."""

    class InputSerializer(serializers.Serializer):
        contact = PkField(queryset=Contact.objects.none(), help_text="A contact of the deal's account.")
        roles = serializers.ListField(
            child=serializers.ChoiceField(choices=BuyingRole.choices), required=False, default=list, max_length=10
        )

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            if "opportunity" in self.context:  # absent only when the schema generator instantiates it
                account_id = self.context["opportunity"].account_id
                self.fields["contact"].queryset = Contact.objects.filter(account_id=account_id)

    class RemoveSerializer(InputSerializer):
        roles = None

    OutputSerializer = BuyingTeamMemberSerializer

    def _rows(self, opp):
        rows = list(
            BuyingTeamMember.objects.filter(opportunity=opp).select_related("contact").order_by("added_at", "id")
        )
        for row in rows:
            row.contact_ref = {"id": row.contact_id, "name": str(row.contact)}
        return Response(self.OutputSerializer(rows, many=True).data)

    @extend_schema(responses={200: OutputSerializer(many=True), **READ_ERRORS})
    def get(self, request, pk: int):
        return self._rows(_opportunity(request, pk))

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer(many=True), **WRITE_ERRORS})
    def post(self, request, pk: int):
        opp = _opportunity(request, pk, write=True)
        serializer = self.InputSerializer(data=request.data, context={"opportunity": opp})
        serializer.is_valid(raise_exception=True)
        services.buying_team_add(opp, actor=request.user, **serializer.validated_data)
        return self._rows(opp)

    @extend_schema(request=RemoveSerializer, responses={200: OutputSerializer(many=True), **WRITE_ERRORS})
    def delete(self, request, pk: int):
        opp = _opportunity(request, pk, write=True)
        serializer = self.RemoveSerializer(data=request.data, context={"opportunity": opp})
        serializer.is_valid(raise_exception=True)
        services.buying_team_remove(opp, actor=request.user, **serializer.validated_data)
        return self._rows(opp)


class MilestoneApi(ServiceApi):
    class InputSerializer(serializers.Serializer):
        evidence = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    class OutputSerializer(serializers.Serializer):
        milestone = serializers.IntegerField(source="milestone.id")
        name = serializers.CharField(source="milestone.name")
        stage = serializers.CharField(source="milestone.stage.name")
        evidence = serializers.CharField()
        completed_at = serializers.DateTimeField()
        completed_by = UserRefSerializer()

    def _target(self, request, pk: int, milestone_id: int) -> tuple[Opportunity, Milestone]:
        opp = _opportunity(request, pk, write=True)
        milestone = get_object_or_404(
            Milestone.objects.select_related("stage"), pk=milestone_id, stage__process=opp.process_id
        )
        return opp, milestone

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer, **WRITE_ERRORS})
    def post(self, request, pk: int, milestone_id: int):
        opp, milestone = self._target(request, pk, milestone_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        completion = services.milestone_tick(
            opp, actor=request.user, milestone=milestone, evidence=serializer.validated_data["evidence"]
        )
        return Response(self.OutputSerializer(completion).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None, **WRITE_ERRORS})
    def delete(self, request, pk: int, milestone_id: int):
        opp, milestone = self._target(request, pk, milestone_id)
        services.milestone_untick(opp, actor=request.user, milestone=milestone)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _either_step_or_wait(description, due_date, waiting_until, *, description_name: str, due_name: str) -> None:
    """The shape rule of NextStepForm: an action with a due date, or waiting on the buyer — one of them."""
    if waiting_until and (description or due_date):
        raise serializers.ValidationError("Either commit a next step with a due date, or wait on the buyer — not both.")
    if not waiting_until and not (description and due_date):
        raise serializers.ValidationError(
            f"Give `{description_name}` and `{due_name}`, or `waiting_until` when you wait on the buyer."
        )


class NextStepSetApi(ServiceApi):
    class InputSerializer(serializers.Serializer):
        description = NameField(max_length=300, required=False, allow_blank=True, default="")
        due_date = serializers.DateField(required=False, allow_null=True, default=None)
        waiting_until = serializers.DateField(required=False, allow_null=True, default=None)

        def validate(self, data):
            _either_step_or_wait(
                data["description"],
                data["due_date"],
                data["waiting_until"],
                description_name="description",
                due_name="due_date",
            )
            return data

    @extend_schema(request=InputSerializer, responses={201: NextStepSerializer, **WRITE_ERRORS})
    def post(self, request, pk: int):
        opp = _opportunity(request, pk, write=True)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        step = services.next_step_set(opp, actor=request.user, **serializer.validated_data)
        return Response(NextStepSerializer(step).data, status=status.HTTP_201_CREATED)


class NextStepCompleteApi(ServiceApi):
    class InputSerializer(serializers.Serializer):
        next_description = NameField(max_length=300, required=False, allow_blank=True, default="")
        next_due_date = serializers.DateField(required=False, allow_null=True, default=None)
        waiting_until = serializers.DateField(required=False, allow_null=True, default=None)
        closing = serializers.BooleanField(
            required=False,
            default=False,
            help_text="Done, and the deal is closing: the following step is closing it, by its expected close "
            "date. Give no other field with it.",
        )

        def validate(self, data):
            if data["closing"]:
                if data["next_description"] or data["next_due_date"] or data["waiting_until"]:
                    raise serializers.ValidationError(
                        "With `closing`, give no `next_description`, `next_due_date` or `waiting_until`."
                    )
                return data
            _either_step_or_wait(
                data["next_description"],
                data["next_due_date"],
                data["waiting_until"],
                description_name="next_description",
                due_name="next_due_date",
            )
            return data

    @extend_schema(
        request=InputSerializer,
        responses={
            201: OpenApiResponse(NextStepSerializer, description="The newly committed next step."),
            **WRITE_ERRORS,
        },
    )
    def post(self, request, pk: int):
        opp = _opportunity(request, pk, write=True)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        step = services.next_step_complete(opp, actor=request.user, **serializer.validated_data)
        return Response(NextStepSerializer(step).data, status=status.HTTP_201_CREATED)


class EventSerializer(serializers.Serializer):
    """What every history row says: a deal's events and an account's audit trail alike."""

    id = serializers.IntegerField()
    verb = serializers.CharField()
    description = serializers.CharField(source="describe")
    actor = UserRefSerializer(allow_null=True)
    data = serializers.DictField()
    created_at = serializers.DateTimeField()


class OpportunityEventListApi(ServiceApi):
    pagination_class = PageNumberPagination

    class OutputSerializer(EventSerializer):
        from_stage = serializers.IntegerField(source="from_stage_id", allow_null=True)
        to_stage = serializers.IntegerField(source="to_stage_id", allow_null=True)
        version = serializers.IntegerField()

    @extend_schema(responses={200: OutputSerializer(many=True), **READ_ERRORS})
    def get(self, request, pk: int):
        opp = _opportunity(request, pk)
        events = OpportunityEvent.objects.filter(opportunity=opp).select_related("actor").order_by("-created_at", "-id")
        return self.paginate(events, self.OutputSerializer)


class ActivityOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=ActivityKind.choices)
    subject = serializers.CharField()
    notes = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    account = serializers.IntegerField(source="account_id")
    opportunity = serializers.IntegerField(source="opportunity_id", allow_null=True)
    contacts = serializers.SerializerMethodField(help_text="Ids of the contacts who took part.")
    created_by = UserRefSerializer()
    created_at = serializers.DateTimeField()

    def get_contacts(self, activity) -> list[int]:
        return [contact.pk for contact in activity.contacts.all()]


class OpportunityActivityApi(ServiceApi):
    """A deal's activities, newest first (GET), and logging one (POST)."""

    pagination_class = PageNumberPagination  # read by the schema generator

    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=ActivityKind.choices)
        subject = NameField(max_length=200)
        notes = serializers.CharField(max_length=10000, required=False, allow_blank=True, default="")
        occurred_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
        contacts = PkField(
            many=True,
            queryset=Contact.objects.none(),
            required=False,
            default=list,
            help_text="Contacts of the deal's account who took part.",
        )

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            if "opportunity" in self.context:  # absent only when the schema generator instantiates it
                opp = self.context["opportunity"]
                self.fields["contacts"].child_relation.queryset = Contact.objects.filter(account_id=opp.account_id)

    @extend_schema(responses={200: ActivityOutputSerializer(many=True), **READ_ERRORS})
    def get(self, request, pk: int):
        opp = _opportunity(request, pk)
        activities = (
            opp.activities.select_related("created_by").prefetch_related("contacts").order_by("-occurred_at", "-id")
        )
        return self.paginate(activities, ActivityOutputSerializer)

    @extend_schema(request=InputSerializer, responses={201: ActivityOutputSerializer, **WRITE_ERRORS})
    def post(self, request, pk: int):
        opp = _opportunity(request, pk, write=True)
        serializer = self.InputSerializer(data=request.data, context={"opportunity": opp})
        serializer.is_valid(raise_exception=True)
        activity = services.activity_log(actor=request.user, opportunity=opp, **serializer.validated_data)
        return Response(ActivityOutputSerializer(activity).data, status=status.HTTP_201_CREATED)


# --- accounts and contacts ----------------------------------------------------------------------------


class AccountListApi(ServiceApi):
    pagination_class = PageNumberPagination

    class InputSerializer(serializers.Serializer):
        name = NameField(max_length=200)
        website = serializers.URLField(required=False, allow_blank=True)
        industry = NameField(max_length=100, required=False, allow_blank=True)
        employee_band = serializers.ChoiceField(choices=EmployeeBand.choices, required=False, allow_blank=True)
        region = NameField(max_length=100, required=False, allow_blank=True)
        revenue_band = serializers.ChoiceField(choices=RevenueBand.choices, required=False, allow_blank=True)
        status = serializers.ChoiceField(choices=AccountStatus.choices, required=False)

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        name = serializers.CharField()
        website = serializers.CharField()
        industry = serializers.CharField()
        employee_band = serializers.CharField()
        region = serializers.CharField()
        revenue_band = serializers.CharField()
        status = serializers.CharField(help_text=", ".join(AccountStatus.values) + ".")
        owner = UserRefSerializer()
        created_at = serializers.DateTimeField()

    @extend_schema(parameters=AccountFilter.parameters(), responses={200: OutputSerializer(many=True)})
    def get(self, request):
        filters = AccountFilter(request.query_params, request=request, interface=API, now=timezone.now())
        return self.paginate(filters.valid_or_400(), self.OutputSerializer)

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer, **WRITE_ERRORS})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        account = services.account_create(actor=request.user, **serializer.validated_data)
        return Response(self.OutputSerializer(account).data, status=status.HTTP_201_CREATED)


class AccountDetailApi(ServiceApi):
    class InputSerializer(AccountListApi.InputSerializer):  # PATCH: the same fields, each optional
        owner = PkField(
            queryset=get_user_model().objects.filter(is_active=True),
            required=False,
            help_text="Hand the account on (managers within their teams, admins).",
        )

    OutputSerializer = AccountListApi.OutputSerializer

    @extend_schema(responses={200: OutputSerializer, **READ_ERRORS})
    def get(self, request, pk: int):
        return Response(self.OutputSerializer(_account(request, pk)).data)

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer, **WRITE_ERRORS})
    def patch(self, request, pk: int):
        account = _account(request, pk, write=True)
        serializer = self.InputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        account = services.account_update(account, actor=request.user, **serializer.validated_data)
        return Response(self.OutputSerializer(account).data)


class ContactListApi(ServiceApi):
    # Whoever may read the account may add people to it (see services.contact_create): no 403 here.
    pagination_class = PageNumberPagination

    class InputSerializer(serializers.Serializer):
        first_name = NameField(max_length=100)
        last_name = NameField(max_length=100)
        title = NameField(max_length=150, required=False, allow_blank=True)
        email = serializers.EmailField(required=False, allow_blank=True)
        phone = serializers.CharField(max_length=50, required=False, allow_blank=True)

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        account = serializers.IntegerField(source="account_id")
        first_name = serializers.CharField()
        last_name = serializers.CharField()
        title = serializers.CharField()
        email = serializers.CharField(help_text="An email address, or blank when unknown.")
        phone = serializers.CharField()
        created_at = serializers.DateTimeField()

    @extend_schema(parameters=ContactFilter.parameters(), responses={200: OutputSerializer(many=True), **READ_ERRORS})
    def get(self, request, pk: int):
        filters = ContactFilter(request.query_params, request=request, interface=API, account=_account(request, pk))
        return self.paginate(filters.valid_or_400(), self.OutputSerializer)

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer, **WRITE_ERRORS})
    def post(self, request, pk: int):
        account = _account(request, pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contact = services.contact_create(actor=request.user, account=account, **serializer.validated_data)
        return Response(self.OutputSerializer(contact).data, status=status.HTTP_201_CREATED)


class AccountEventListApi(ServiceApi):
    """The audit trail of an account and its contacts, newest first."""

    pagination_class = PageNumberPagination

    class OutputSerializer(EventSerializer):
        contact = serializers.IntegerField(source="contact_id", allow_null=True)
        data = serializers.DictField(help_text="`changes`: {field: {old, new}}; `contact_name` on contact rows.")

    @extend_schema(responses={200: OutputSerializer(many=True), **READ_ERRORS})
    def get(self, request, pk: int):
        account = _account(request, pk)
        events = AccountEvent.objects.filter(account=account).select_related("actor").order_by("-created_at", "-id")
        return self.paginate(events, self.OutputSerializer)


# --- contacts and the global search --------------------------------------------------------------------


class ContactDetailApi(ServiceApi):
    """A contact, with the deals (visible to you) on whose buying team they are."""

    class InputSerializer(ContactListApi.InputSerializer):  # PATCH: the same fields, each optional
        pass

    @extend_schema_serializer(component_name="ContactBuyingRole")
    class RoleSerializer(serializers.Serializer):
        opportunity = NamedRefSerializer()
        roles = serializers.ListField(child=serializers.CharField(), help_text="BuyingRole values.")

    class OutputSerializer(ContactListApi.OutputSerializer):
        account_name = serializers.CharField(source="account.name")
        can_edit = serializers.SerializerMethodField(help_text="Whether you may change this contact.")
        buying_roles = serializers.SerializerMethodField(help_text="Deals you may see with their roles on each.")

        def get_can_edit(self, contact) -> bool:
            return contact.can_edit(self.context["request"].user)

        def get_buying_roles(self, contact) -> list[dict]:
            user = self.context["request"].user
            members = (
                contact.buying_roles.filter(opportunity__in=Opportunity.objects.for_user(user))
                .select_related("opportunity")
                .order_by("opportunity_id")
            )
            return ContactDetailApi.RoleSerializer(members, many=True).data

    def _contact(self, request, pk: int, *, write: bool = False) -> Contact:
        contact = get_object_or_404(Contact.objects.for_user(request.user).select_related("account__owner"), pk=pk)
        if write and not contact.can_edit(request.user):
            raise PermissionDenied("You can view this contact but not change it.")
        return contact

    def _render(self, request, contact: Contact) -> Response:
        return Response(self.OutputSerializer(contact, context={"request": request}).data)

    @extend_schema(responses={200: OutputSerializer, **READ_ERRORS})
    def get(self, request, pk: int):
        return self._render(request, self._contact(request, pk))

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer, **WRITE_ERRORS})
    def patch(self, request, pk: int):
        contact = self._contact(request, pk, write=True)
        serializer = self.InputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        contact = services.contact_update(contact, actor=request.user, **serializer.validated_data)
        return self._render(request, contact)


class SearchKindSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="How many match in all.")
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    results = serializers.ListField(child=serializers.DictField(), help_text="The rows of this page.")


class SearchApi(ServiceApi):
    """The global search (`opportunities.search`): deals, accounts and contacts you may see, by
    name, email, phone or domain, best match first. Without `kind`, the first few of each kind;
    with it, that kind a page at a time."""

    PREVIEW = 5
    PAGE_SIZE = 25

    class FilterSerializer(serializers.Serializer):
        q = NameField(max_length=search.MAX_LENGTH, help_text="Words, a part of an email, a domain, phone digits.")
        kind = serializers.ChoiceField(choices=[(k, k) for k in search.KINDS], required=False)
        page = IdField(required=False, default=1)

    @extend_schema_serializer(component_name="SearchDeal")
    class DealSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        name = serializers.CharField()
        account = NamedRefSerializer()
        stage = NamedRefSerializer()
        owner = UserRefSerializer()
        status = serializers.CharField()
        amount = serializers.DecimalField(max_digits=14, decimal_places=2)
        expected_close_date = serializers.DateField()

    @extend_schema_serializer(component_name="SearchContact")
    class ContactSerializer(ContactListApi.OutputSerializer):
        account_name = serializers.CharField(source="account.name")

    class OutputSerializer(serializers.Serializer):
        q = serializers.CharField(help_text="The text searched, as cleaned and cut.")
        deals = SearchKindSerializer(required=False)
        accounts = SearchKindSerializer(required=False)
        contacts = SearchKindSerializer(required=False)

    @extend_schema(parameters=[FilterSerializer], responses={200: OutputSerializer})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        f = filters.validated_data
        kind = f.get("kind")
        results = search.search(
            request.user,
            f["q"],
            kind=kind,
            page=f["page"] if kind else 1,
            per_page=self.PAGE_SIZE if kind else self.PREVIEW,
        )
        rows = {
            "deals": self.DealSerializer,
            "accounts": AccountListApi.OutputSerializer,
            "contacts": self.ContactSerializer,
        }
        body = {"q": results.text}
        for name, page in results.pages.items():
            body[name] = {
                "count": page.paginator.count,
                "page": page.number,
                "pages": page.paginator.num_pages,
                "results": rows[name](page.object_list, many=True).data,
            }
        return Response(body)
