"""CSV uploads of readings: create, list, the file, the outcome per row."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from billspree.core.api_base import (
    OrganizationModelSerializer,
    OrganizationViewSet,
)
from billspree.core.api_parsers import FormParser, MultiPartParser
from billspree.core.files import private_file_response
from billspree.core.models import Role
from readings import api_batch as batch
from readings import selectors, services
from readings.models import Upload


class UploadSerializer(OrganizationModelSerializer):
    progress = serializers.IntegerField(source="progress_percent", read_only=True)
    #: What the import changed in billing, in the words of ``POST readings/`` (empty until done).
    affects_invoices = batch.AffectsInvoicesField(source="impacts", read_only=True)

    class Meta:
        model = Upload
        fields = [
            "id",
            "source",
            "status",
            "filename",
            "replace",
            "all_or_nothing",
            "rows_total",
            "rows_done",
            "progress",
            "created_count",
            "unchanged_count",
            "replaced_count",
            "anomaly_count",
            "error_count",
            "errors",
            "failure",
            "affects_invoices",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields


class UploadCreateSerializer(serializers.Serializer):
    file = serializers.FileField()
    replace = serializers.BooleanField(default=False)
    all_or_nothing = serializers.BooleanField(default=True)


class UploadViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, OrganizationViewSet
):
    """CSV uploads: ``POST`` a file (processed in the background), poll its status."""

    queryset = Upload.objects.select_related("created_by", "api_key")
    serializer_class = UploadSerializer
    parser_classes = [MultiPartParser, FormParser]
    write_role = Role.OPERATOR
    filterset_fields = ["status", "source"]
    ordering_fields = ["created_at"]

    @extend_schema(
        request=UploadCreateSerializer, responses={202: UploadSerializer},
        description=(
            "Upload a CSV of readings, imported in the background (poll the upload). Columns "
            "``meterNumber, readAt, value[, quality]``, ``,`` or ``;`` separated, decimal "
            "comma accepted; ``GET /api/v1/readings/uploads/template/`` gives a template "
            "with one example row. ``readAt`` is ISO 8601 (``2026-12-03``, "
            "``2026-12-03T14:00:00+01:00``) or the local form of the meter's property: "
            "``03.12.2026`` or ``3.12.2026 14:00`` (day.month.year), ``3/12/2026`` "
            "(day/month/year; month/day/year for properties in US time zones), always with "
            "a four-digit year; without an offset, local to the property's time zone. The "
            "JSON batch (``POST /api/v1/readings/``) takes ISO 8601 only."
        ),
    )
    def create(self, request: Request, *args, **kwargs) -> Response:
        form = UploadCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        upload = services.upload_create(**form.validated_data, **self.audit_kwargs())
        upload.refresh_from_db()
        return Response(UploadSerializer(upload).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={(200, "text/csv"): str})
    @action(detail=False, methods=["get"], url_path="template", url_name="template")
    def template(self, request: Request) -> HttpResponse:
        """A CSV template: the header and one example row (a meter of the organization)."""
        body = selectors.upload_template_csv(
            default_tz=ZoneInfo(str(request.organization.time_zone)), now=timezone.now()
        )
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="readings-template.csv"'
        return response

    @extend_schema(responses={(200, "text/csv"): str})
    @action(detail=True, methods=["get"], url_path="file", url_name="file")
    def original_file(self, request: Request, id: str | None = None) -> HttpResponse:
        """The CSV as it was sent (private storage; 404 for an upload without a file)."""
        upload = self.get_object()
        return private_file_response(
            upload.file, filename=upload.filename or f"upload-{upload.public_id}.csv",
            content_type="text/csv",
        )

    @extend_schema(responses={(200, "text/csv"): str})
    @action(detail=True, methods=["get"], url_path="errors.csv")
    def errors_csv(self, request: Request, id: str | None = None) -> HttpResponse:
        upload = self.get_object()
        response = HttpResponse(services.upload_error_csv(upload=upload), content_type="text/csv")
        response["Content-Disposition"] = (
            f'attachment; filename="upload-{upload.public_id}-errors.csv"'
        )
        return response
