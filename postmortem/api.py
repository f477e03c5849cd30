"""The post-mortem API: reviews read and written through the same services and rules as the
pages, and the lessons that apply to a deal."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from opportunities.api import (
    READ_ERRORS,
    WRITE_ERRORS,
    NamedRefSerializer,
    ServiceApi,
    UserRefSerializer,
    check_if_match,
)
from opportunities.api_fields import NameField, PkField
from opportunities.models import BuyingRole, Competitor, Opportunity
from stages.models import Milestone, Stage

from . import services
from .lessons import lessons_for_deal
from .models import Lesson, Reason, Review, ReviewState


class LessonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    text = serializers.CharField()
    stage = NamedRefSerializer()
    milestone = NamedRefSerializer(allow_null=True)
    industry = serializers.CharField()
    competitor = NamedRefSerializer(allow_null=True)
    buying_role = serializers.CharField()
    review = serializers.IntegerField(source="review_id")
    retired_at = serializers.DateTimeField(allow_null=True)


class DealLessonSerializer(LessonSerializer):
    relevance = serializers.IntegerField(help_text="How many of the deal's tags it matches, weighted.")
    endorsement_count = serializers.IntegerField()


class ReviewSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    opportunity = NamedRefSerializer()
    outcome = serializers.CharField(help_text="won or lost.")
    state = serializers.CharField(help_text="draft, submitted, changes_requested, accepted, closed or cancelled.")
    is_current = serializers.BooleanField()
    author = UserRefSerializer()
    reviewer = UserRefSerializer(allow_null=True)
    due_on = serializers.DateField()
    primary_reason = NamedRefSerializer(allow_null=True)
    secondary_reason = NamedRefSerializer(allow_null=True)
    decisive_milestone = NamedRefSerializer(allow_null=True)
    competitor_decisive = serializers.BooleanField(allow_null=True)
    went_right = serializers.CharField()
    went_wrong = serializers.CharField()
    manager_comments = serializers.CharField()
    facts = serializers.JSONField(help_text="The deal's history at the close.")
    version = serializers.IntegerField()


class ReviewDetailSerializer(ReviewSerializer):
    lessons = serializers.SerializerMethodField()

    def get_lessons(self, review) -> list[dict]:
        rows = review.lessons.select_related("stage", "milestone", "competitor").order_by("id")
        return LessonSerializer(rows, many=True).data


def _review(request, pk: int) -> Review:
    review = get_object_or_404(
        Review.objects.for_user(request.user).select_related(
            "opportunity", "author", "reviewer", "primary_reason", "secondary_reason", "decisive_milestone"
        ),
        pk=pk,
    )
    check_if_match(request, review)
    return review


def _detail(review: Review) -> Response:
    return Response(ReviewDetailSerializer(_reload(review)).data)


def _reload(review: Review) -> Review:
    return Review.objects.select_related(
        "opportunity", "author", "reviewer", "primary_reason", "secondary_reason", "decisive_milestone"
    ).get(pk=review.pk)


class ReviewListApi(ServiceApi):
    pagination_class = PageNumberPagination

    class FilterSerializer(serializers.Serializer):
        state = serializers.ChoiceField(choices=ReviewState.choices, required=False)

    OutputSerializer = ReviewSerializer

    @extend_schema(parameters=[FilterSerializer], responses={200: OutputSerializer(many=True)})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        reviews = Review.objects.for_user(request.user).select_related(
            "opportunity", "author", "reviewer", "primary_reason", "secondary_reason", "decisive_milestone"
        )
        if "state" in filters.validated_data:
            reviews = reviews.filter(state=filters.validated_data["state"])
        return self.paginate(reviews.order_by("due_on", "id"), self.OutputSerializer)


class LessonInputSerializer(serializers.Serializer):
    text = NameField(max_length=services.LESSON_MAX)
    stage = PkField(queryset=Stage.objects.all())
    milestone = PkField(queryset=Milestone.objects.select_related("stage"), required=False, allow_null=True)
    industry = NameField(max_length=100, required=False, allow_blank=True, default="")
    competitor = PkField(queryset=Competitor.objects.all(), required=False, allow_null=True)
    buying_role = serializers.ChoiceField(choices=BuyingRole.choices, required=False, allow_blank=True, default="")


class ReviewDetailApi(ServiceApi):
    class InputSerializer(serializers.Serializer):
        primary_reason = PkField(queryset=Reason.objects.all(), required=False, allow_null=True)
        secondary_reason = PkField(queryset=Reason.objects.all(), required=False, allow_null=True)
        decisive_milestone = PkField(
            queryset=Milestone.objects.select_related("stage"), required=False, allow_null=True
        )
        competitor_decisive = serializers.BooleanField(required=False, allow_null=True)
        went_right = serializers.CharField(max_length=services.TEXT_MAX, required=False, allow_blank=True)
        went_wrong = serializers.CharField(max_length=services.TEXT_MAX, required=False, allow_blank=True)
        lessons = LessonInputSerializer(
            many=True, required=False, help_text="Replaces the review's lessons when given."
        )

    OutputSerializer = ReviewDetailSerializer

    @extend_schema(responses={200: OutputSerializer, **READ_ERRORS})
    def get(self, request, pk: int):
        return _detail(_review(request, pk))

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer, **WRITE_ERRORS})
    def patch(self, request, pk: int):
        """Change what the owner writes; fields left out keep their value."""
        review = _review(request, pk)
        if not services.can_write(request.user, review):
            raise PermissionDenied("Only the deal's owner writes its post-mortem.")
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        fields = {
            name: data.get(name, getattr(review, name))
            for name in (
                "primary_reason",
                "secondary_reason",
                "decisive_milestone",
                "competitor_decisive",
                "went_right",
                "went_wrong",
            )
        }
        if "lessons" in data:
            fields["lessons"] = data["lessons"]
        services.review_save(review, actor=request.user, **fields)
        return _detail(review)


class ReviewSubmitApi(ServiceApi):
    @extend_schema(request=None, responses={200: ReviewDetailSerializer, **WRITE_ERRORS})
    def post(self, request, pk: int):
        review = _review(request, pk)
        if not services.can_write(request.user, review):
            raise PermissionDenied("Only the deal's owner submits its post-mortem.")
        services.review_submit(review, actor=request.user)
        return _detail(review)


def _reviewable(request, pk: int) -> Review:
    review = _review(request, pk)
    if not services.can_review(request.user, review):
        raise PermissionDenied("Only the owner's manager or an admin reviews this post-mortem.")
    return review


class ReviewRequestChangesApi(ServiceApi):
    class InputSerializer(serializers.Serializer):
        comments = serializers.CharField(max_length=services.TEXT_MAX)

    @extend_schema(request=InputSerializer, responses={200: ReviewDetailSerializer, **WRITE_ERRORS})
    def post(self, request, pk: int):
        review = _reviewable(request, pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.review_request_changes(review, actor=request.user, **serializer.validated_data)
        return _detail(review)


class ReviewAcceptApi(ServiceApi):
    class InputSerializer(serializers.Serializer):
        comments = serializers.CharField(max_length=services.TEXT_MAX, required=False, allow_blank=True, default="")

    @extend_schema(request=InputSerializer, responses={200: ReviewDetailSerializer, **WRITE_ERRORS})
    def post(self, request, pk: int):
        review = _reviewable(request, pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.review_accept(review, actor=request.user, **serializer.validated_data)
        return _detail(review)


class ReviewCloseApi(ServiceApi):
    @extend_schema(request=None, responses={200: ReviewDetailSerializer, **WRITE_ERRORS})
    def post(self, request, pk: int):
        review = _reviewable(request, pk)
        services.review_close(review, actor=request.user)
        return _detail(review)


class DealLessonsApi(ServiceApi):
    """The lessons that apply to an open deal, most relevant first (what its page shows)."""

    OutputSerializer = DealLessonSerializer

    @extend_schema(responses={200: OutputSerializer(many=True), **READ_ERRORS})
    def get(self, request, pk: int):
        deal = get_object_or_404(Opportunity.objects.for_user(request.user).select_related("stage", "account"), pk=pk)
        lessons: list[Lesson] = lessons_for_deal(deal, request.user) if deal.is_open else []
        return Response(self.OutputSerializer(lessons, many=True).data)
