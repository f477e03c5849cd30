"""The guided-selling API: a deal's stored signals, ticking its qualification checklist and the
Focus list, through the same services and access rules as the pages."""

from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from opportunities.api import READ_ERRORS, WRITE_ERRORS, NamedRefSerializer, ServiceApi
from opportunities.errors import AccessDenied, DomainError
from opportunities.models import Opportunity
from people.access import get_readable

from . import queries, services
from .models import DealSignal, QualificationItem
from .panel import deal_signals_panel


class ExplanationLineSerializer(serializers.Serializer):
    factor = serializers.CharField()
    words = serializers.CharField()
    points = serializers.IntegerField(help_text="Percentage points; the lines add up to the probability.")


class QualificationItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    label = serializers.CharField()
    help_text = serializers.CharField()
    ticked = serializers.BooleanField()


class SignalSerializer(serializers.Serializer):
    opportunity = serializers.IntegerField(source="opportunity_id")
    win_probability = serializers.IntegerField(help_text="Percent.")
    win_explanation = ExplanationLineSerializer(many=True, source="win_explanation.lines")
    win_note = serializers.CharField(source="win_explanation.note")
    model_version = serializers.IntegerField(allow_null=True)
    viability = serializers.IntegerField()
    viability_facts = serializers.ListField(child=serializers.DictField(), source="viability_facts.facts")
    suggestions = serializers.ListField(child=serializers.CharField(), source="viability_facts.suggestions")
    icp_score = serializers.IntegerField()
    icp_attributes = serializers.ListField(child=serializers.DictField(), source="icp.attributes")
    priority = serializers.FloatField()
    reason = serializers.CharField()
    scored_at = serializers.DateTimeField()


class DealSignalsSerializer(serializers.Serializer):
    signal = SignalSerializer(allow_null=True)
    similar_won = NamedRefSerializer(many=True, help_text="Those you may see.")
    similar_lost = NamedRefSerializer(many=True)
    hidden_similar = serializers.IntegerField(help_text="Similar deals you may not see: counted, never named.")
    qualification = QualificationItemSerializer(many=True)


def _deal(request, pk: int, *, write: bool = False) -> Opportunity:
    return get_readable(Opportunity.objects.select_related("process", "owner"), request.user, pk, write=write)


def _signals(deal, user) -> dict:
    panel = deal_signals_panel(deal, user) or {"signal": None, "items": []}
    similar = queries.similar_deals(panel["signal"], user)
    return {
        "signal": panel["signal"],
        "similar_won": similar["won"],
        "similar_lost": similar["lost"],
        "hidden_similar": similar["hidden_won"] + similar["hidden_lost"],
        "qualification": panel["items"],
    }


class DealSignalsApi(ServiceApi):
    """GET: the deal's stored signals (win probability with its explanation, viability, ICP fit,
    priority), its similar deals as you may see them and its qualification checklist."""

    @extend_schema(responses={200: DealSignalsSerializer, **READ_ERRORS})
    def get(self, request, pk: int):
        return Response(DealSignalsSerializer(_signals(_deal(request, pk), request.user)).data)


class QualificationTickApi(ServiceApi):
    """POST: tick (`ticked: true`) or untick one qualification item of the deal."""

    class InputSerializer(serializers.Serializer):
        item = serializers.IntegerField(min_value=1, max_value=2**62)
        ticked = serializers.BooleanField()

    @extend_schema(request=InputSerializer, responses={200: DealSignalsSerializer, **WRITE_ERRORS})
    def post(self, request, pk: int):
        deal = _deal(request, pk, write=True)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        item = QualificationItem.objects.filter(pk=serializer.validated_data["item"]).first()
        if item is None:
            raise DomainError("Choose a qualification item of this deal's process.", field="item")
        try:
            services.qualification_tick(
                actor=request.user, opportunity=deal, item=item, ticked=serializer.validated_data["ticked"]
            )
        except AccessDenied as exc:
            raise PermissionDenied(exc.message) from exc
        return Response(DealSignalsSerializer(_signals(deal, request.user)).data)


class FocusApi(ServiceApi):
    """GET: your ten highest-priority open deals (`scope=team`: all you may see, for managers)."""

    @extend_schema(
        responses={
            200: inline_serializer(
                "FocusItem",
                {
                    "opportunity": serializers.IntegerField(),
                    "name": serializers.CharField(),
                    "priority": serializers.FloatField(),
                    "reason": serializers.CharField(),
                    "win_probability": serializers.IntegerField(),
                    "next_step": serializers.CharField(allow_null=True),
                },
                many=True,
            )
        }
    )
    def get(self, request):
        scope = "team" if request.query_params.get("scope") == "team" else "mine"
        if scope == "team" and not services.can_retrain(request.user):
            raise PermissionDenied("The team's Focus list is for managers and admins.")
        rows: list[DealSignal] = queries.focus_list(request.user, scope=scope)
        return Response(
            [
                {
                    "opportunity": s.opportunity_id,
                    "name": s.opportunity.name,
                    "priority": s.priority,
                    "reason": s.reason,
                    "win_probability": s.win_probability,
                    "next_step": s.opportunity.next_step.description if s.opportunity.next_step else None,
                }
                for s in rows
            ]
        )
