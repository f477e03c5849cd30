"""A deal's recommendations through the API: read them, accept one (it becomes the deal's next
step) or dismiss one with a reason, through the same services and rules as the deal page."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from opportunities.api import READ_ERRORS, WRITE_ERRORS, ServiceApi
from opportunities.models import Opportunity
from people.access import get_readable

from . import services
from .models import FeedbackVerdict


class RelatedLessonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    text = serializers.CharField()


class RelatedAidSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()


class RecommendationSerializer(serializers.Serializer):
    step = serializers.CharField(source="step_key", help_text='"milestone:<id>" or "activity:<kind>".')
    action = serializers.CharField(help_text="What the deal's next step says when it is accepted.")
    evidence = serializers.CharField(help_text="The counts in words.")
    confidence = serializers.ChoiceField(choices=["high", "medium", "low"])
    won_with = serializers.IntegerField(source="counts.won_with")
    won_total = serializers.IntegerField(source="counts.won_total")
    lost_with = serializers.IntegerField(source="counts.lost_with")
    lost_total = serializers.IntegerField(source="counts.lost_total")
    lessons = RelatedLessonSerializer(many=True)
    aids = RelatedAidSerializer(many=True)


class DealRecommendationsSerializer(serializers.Serializer):
    recommendations = RecommendationSerializer(many=True, source="items")
    message = serializers.CharField(help_text="Why there are none (too few closed deals, …); empty when there are.")
    segment = serializers.CharField(help_text="The industry the evidence comes from; empty for all deals.")
    refreshed_at = serializers.DateTimeField(allow_null=True)
    lessons = RelatedLessonSerializer(many=True, help_text="The stage's lessons not tied to one recommendation.")
    aids = RelatedAidSerializer(many=True, help_text="The stage's aids not tied to one recommendation.")


class FeedbackSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    step = serializers.CharField(source="step_key")
    stage = serializers.IntegerField(source="stage_id")
    verdict = serializers.ChoiceField(choices=FeedbackVerdict.choices)
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class DealRecommendationsApi(ServiceApi):
    """The recommended next steps of an open deal, each with its evidence (what its page shows)."""

    OutputSerializer = DealRecommendationsSerializer

    @extend_schema(responses={200: OutputSerializer, **READ_ERRORS})
    def get(self, request, pk: int):
        deal = get_readable(Opportunity.objects.all(), request.user, pk)
        return Response(self.OutputSerializer(services.recommendations_for(user=request.user, opportunity=deal)).data)


class RecommendationAcceptApi(ServiceApi):
    """Accept a recommendation: it becomes the deal's next step, due in a week."""

    class InputSerializer(serializers.Serializer):
        step = serializers.CharField(max_length=40)

    OutputSerializer = FeedbackSerializer

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer, **WRITE_ERRORS})
    def post(self, request, pk: int):
        deal = get_readable(Opportunity.objects.all(), request.user, pk, write=True)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        feedback = services.recommendation_accept(
            actor=request.user, opportunity=deal, step=serializer.validated_data["step"]
        )
        return Response(self.OutputSerializer(feedback).data, status=201)


class RecommendationDismissApi(ServiceApi):
    """Dismiss a recommendation, saying why."""

    class InputSerializer(serializers.Serializer):
        step = serializers.CharField(max_length=40)
        reason = serializers.CharField(max_length=services.REASON_MAX)

    OutputSerializer = FeedbackSerializer

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer, **WRITE_ERRORS})
    def post(self, request, pk: int):
        deal = get_readable(Opportunity.objects.all(), request.user, pk, write=True)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        feedback = services.recommendation_dismiss(
            actor=request.user, opportunity=deal, step=data["step"], reason=data["reason"]
        )
        return Response(self.OutputSerializer(feedback).data, status=201)
