"""The import API: upload a file, then commit it with a mapping — the import pages' steps in two
calls, through the same services and rules (admins only)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from opportunities.api import READ_ERRORS, WRITE_ERRORS, ServiceApi
from opportunities.errors import DomainError
from stages.models import SalesProcess

from . import services
from .models import DuplicateAction, ImportJob
from .reading import MAX_BYTES


class ImportJobSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField(help_text="accounts, contacts or deals.")
    filename = serializers.CharField()
    status = serializers.CharField(help_text="uploaded, checked, queued, running, done, failed or undone.")
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField(source="created_by.username")
    header = serializers.ListField(child=serializers.CharField())
    row_count = serializers.IntegerField()
    process = serializers.IntegerField(source="process_id", allow_null=True)
    mapping = serializers.DictField(child=serializers.CharField(), help_text="{field: column}")
    value_map = serializers.DictField(
        child=serializers.DictField(child=serializers.CharField()), help_text="{field: {value: target}}"
    )
    duplicates = serializers.CharField()
    error_count = serializers.IntegerField()
    errors = serializers.ListField(child=serializers.CharField())
    counts = serializers.DictField(child=serializers.IntegerField())
    progress = serializers.IntegerField()
    message = serializers.CharField()


def _job(request, pk: int) -> ImportJob:
    return get_object_or_404(ImportJob.objects.for_user(request.user).select_related("created_by"), pk=pk)


def _admin(request) -> None:
    if not request.user.is_admin:
        raise PermissionDenied("Only admins can import data.")


class ImportListApi(ServiceApi):
    parser_classes = [MultiPartParser]

    class InputSerializer(serializers.Serializer):
        # Text rather than a choice: an enum named "kind" would collide with the activities' and
        # next steps' in the schema. The service refuses other values with a clear message.
        kind = serializers.CharField(help_text="accounts, contacts or deals.")
        file = serializers.FileField(help_text=f"CSV, XLSX or JSON Lines, up to {MAX_BYTES // 2**20} MB.")

    @extend_schema(responses={200: ImportJobSerializer(many=True)})
    def get(self, request):
        _admin(request)
        return self.paginate(ImportJob.objects.for_user(request.user).select_related("created_by"), ImportJobSerializer)

    @extend_schema(request=InputSerializer, responses={201: ImportJobSerializer, **WRITE_ERRORS})
    def post(self, request):
        _admin(request)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        if upload.size > MAX_BYTES:
            raise DomainError("The file is larger than the limit; split it into smaller files.", field="file")
        job = services.import_upload(
            actor=request.user, kind=data.validated_data["kind"], filename=upload.name, data=upload.read()
        )
        job.value_map = services.suggest_value_map(job)
        job.save(update_fields=["value_map"])
        return Response(ImportJobSerializer(job).data, status=201)


class ImportDetailApi(ServiceApi):
    @extend_schema(responses={200: ImportJobSerializer, **READ_ERRORS})
    def get(self, request, pk: int):
        return Response(ImportJobSerializer(_job(request, pk)).data)


class ImportCommitApi(ServiceApi):
    class InputSerializer(serializers.Serializer):
        mapping = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)
        value_map = serializers.DictField(
            child=serializers.DictField(child=serializers.CharField(allow_blank=True)), required=False
        )
        process = serializers.PrimaryKeyRelatedField(queryset=SalesProcess.objects.active(), required=False)
        duplicates = serializers.ChoiceField(choices=DuplicateAction.choices, required=False)
        row_actions = serializers.DictField(
            child=serializers.ChoiceField(choices=DuplicateAction.choices), required=False
        )

    @extend_schema(request=InputSerializer, responses={200: ImportJobSerializer, **READ_ERRORS, **WRITE_ERRORS})
    def post(self, request, pk: int):
        job = _job(request, pk)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        given = data.validated_data
        services.import_map(
            job,
            actor=request.user,
            mapping=given.get("mapping", job.mapping),
            value_map=given.get("value_map", job.value_map),
            process=given.get("process"),
            duplicates=given.get("duplicates", job.duplicates),
            row_actions=given.get("row_actions", job.row_actions),
        )
        try:
            job = services.import_start(job, actor=request.user)
        except DomainError as exc:
            job.refresh_from_db()
            return Response({"detail": exc.message, "errors": job.errors}, status=400)
        return Response(ImportJobSerializer(job).data)
