"""The sales-aid API: the library (list, search, detail with versions) and a deal's share
ledger (read it, share an aid), through the same services and rules as the pages."""

from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from opportunities.api import READ_ERRORS, WRITE_ERRORS, NamedRefSerializer, ServiceApi, UserRefSerializer
from opportunities.api_fields import PkField
from opportunities.models import BuyingTeamMember, Opportunity
from people.access import get_readable

from . import services
from .models import Aid, AidKind, AidVersion, Share, ShareChannel
from .search import search


class VersionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.IntegerField()
    source = serializers.CharField(help_text="file, link or text.")
    file_name = serializers.CharField()
    size = serializers.IntegerField()
    url = serializers.CharField()
    body = serializers.CharField(help_text="Markdown.")
    note = serializers.CharField()
    created_at = serializers.DateTimeField()
    download = serializers.SerializerMethodField(help_text="The file, for a signed-in user (file versions).")

    def get_download(self, version) -> str | None:
        return reverse("aids:file", args=[version.pk]) if version.source == "file" else None


class AidSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    kind = serializers.CharField()
    summary = serializers.CharField()
    status = serializers.CharField(help_text="draft, published or retired.")
    current_version = VersionSerializer(allow_null=True)
    stages = serializers.SerializerMethodField()
    milestones = serializers.SerializerMethodField()
    competitors = serializers.SerializerMethodField()
    buyer_roles = serializers.SerializerMethodField()
    industries = serializers.SerializerMethodField()
    size_bands = serializers.SerializerMethodField()

    def get_stages(self, aid) -> list[dict]:
        return [{"id": s.pk, "name": s.name} for s in aid.stages.all()]

    def get_milestones(self, aid) -> list[dict]:
        return [{"id": m.pk, "name": m.name} for m in aid.milestones.all()]

    def get_competitors(self, aid) -> list[dict]:
        return [{"id": c.pk, "name": c.name} for c in aid.competitors.all()]

    def get_buyer_roles(self, aid) -> list[str]:
        return aid.tag_values("buyer_role")

    def get_industries(self, aid) -> list[str]:
        return aid.tag_values("industry")

    def get_size_bands(self, aid) -> list[str]:
        return aid.tag_values("size_band")


class AidDetailSerializer(AidSerializer):
    versions = VersionSerializer(many=True)


def _aids(user):
    return (
        Aid.objects.for_user(user)
        .select_related("current_version")
        .prefetch_related("stages", "milestones", "competitors", "tags")
    )


class AidListApi(ServiceApi):
    pagination_class = PageNumberPagination

    class FilterSerializer(serializers.Serializer):
        q = serializers.CharField(required=False, max_length=200)
        kind = serializers.ChoiceField(choices=AidKind.choices, required=False)

    OutputSerializer = AidSerializer

    @extend_schema(parameters=[FilterSerializer], responses={200: OutputSerializer(many=True)})
    def get(self, request):
        """The aids you may see: published ones (and, for managers and admins, all)."""
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        aids = _aids(request.user)
        if "kind" in filters.validated_data:
            aids = aids.filter(kind=filters.validated_data["kind"])
        q = filters.validated_data.get("q", "")
        aids = search(aids, q) if q else aids.order_by("title", "id")
        return self.paginate(aids, self.OutputSerializer)


class AidDetailApi(ServiceApi):
    OutputSerializer = AidDetailSerializer

    @extend_schema(responses={200: OutputSerializer, **READ_ERRORS})
    def get(self, request, pk: int):
        aid = get_object_or_404(
            _aids(request.user).prefetch_related("versions", "stages", "milestones", "competitors", "tags"),
            pk=pk,
        )
        return Response(self.OutputSerializer(aid).data)


class ShareSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    aid = NamedRefSerializer(source="aid_ref")
    version = serializers.IntegerField(source="version.number")
    contact = NamedRefSerializer(source="contact_ref")
    roles = serializers.ListField(child=serializers.CharField())
    stage = NamedRefSerializer()
    channel = serializers.CharField(help_text="email or recorded.")
    shared_by = UserRefSerializer()
    shared_at = serializers.DateTimeField()


def _ledger(deal) -> list[Share]:
    shares = list(
        Share.objects.filter(opportunity=deal)
        .select_related("aid", "version", "contact", "stage", "shared_by")
        .order_by("-shared_at", "-id")
    )
    for share in shares:
        share.aid_ref = {"id": share.aid_id, "name": share.aid.title}
        share.contact_ref = {"id": share.contact_id, "name": str(share.contact)}
    return shares


class DealSharesApi(ServiceApi):
    """A deal's share ledger; POST shares an aid with buying-team members."""

    class InputSerializer(serializers.Serializer):
        aid = PkField(queryset=Aid.objects.all())
        version = PkField(queryset=AidVersion.objects.all(), required=False, allow_null=True)
        contacts = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=20)
        channel = serializers.ChoiceField(choices=ShareChannel.choices, default=ShareChannel.RECORDED)
        message = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")

    OutputSerializer = ShareSerializer

    @extend_schema(responses={200: OutputSerializer(many=True), **READ_ERRORS})
    def get(self, request, pk: int):
        deal = get_readable(Opportunity.objects.all(), request.user, pk)
        return Response(self.OutputSerializer(_ledger(deal), many=True).data)

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer(many=True), **WRITE_ERRORS})
    def post(self, request, pk: int):
        deal = get_readable(Opportunity.objects.select_related("account"), request.user, pk, write=True)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        aid = data["aid"]
        if not Aid.objects.for_user(request.user).filter(pk=aid.pk).exists():
            raise serializers.ValidationError({"aid": ["Choose an aid you may see."]})
        team = BuyingTeamMember.objects.filter(opportunity=deal, contact_id__in=data["contacts"]).select_related(
            "contact"
        )
        contacts = [m.contact for m in team]
        if len(contacts) != len(set(data["contacts"])):
            raise serializers.ValidationError({"contacts": ["Everyone must be on this deal's buying team."]})
        shares = services.aid_share(
            aid,
            actor=request.user,
            opportunity=deal,
            contacts=contacts,
            version=data.get("version"),
            channel=data["channel"],
            message=data["message"],
        )
        ids = {s.pk for s in shares}
        return Response(self.OutputSerializer([s for s in _ledger(deal) if s.pk in ids], many=True).data, status=201)
