"""``/api/v1/exports/``: background exports of report pages (thin: parse, call the service
in ``monitoring.exports.jobs``, shape the answer).

A job names a report page by its path (any page of ``GET /monitoring/...`` that exports:
the choices of ``page``), the page's query (as its address shows it after the ``?``, or an
object of its parameters), a format and optionally one table. The page, query, format and
table are checked when the job is created (a 400 naming the field, nothing created); a
worker then writes the file while ``rows_done`` grows, and ``GET …/download/`` streams it
once ``status`` is ``done``, for ``EXPORT_RETENTION_DAYS`` after it finished
(``available_until``); after that, or before it is done, the download is a 404 that says
which (``code`` ``export_not_ready``, ``export_failed`` or ``export_expired``), as the
portal's download answers 404.

Idempotency: ``POST`` with an ``Idempotency-Key`` header creates the job once. The first
request answers ``202``; the same request again answers ``200`` with that job as it is now
(``Idempotent-Replayed: true``); the key with another page, query, format or table is a
``409`` (``idempotency_key_reused``) and creates nothing.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import django_filters
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from billspree.core.actor import Actor
from billspree.core.api_base import OrganizationModelSerializer, OrganizationViewSet
from billspree.core.files import private_file_response
from billspree.core.models import Role
from monitoring.exports import CONTENT_TYPES
from monitoring.exports.jobs import (
    KEY_HEADER,
    download_refusal,
    export_job_request,
    stuck_reason,
)
from monitoring.exports.pages import exportable_pages
from monitoring.models import ExportFormat, ExportJob

#: The longest query a report stores (the scheduled-report form's limit).
QUERY_MAX = 2000
_SCALAR: list[dict[str, Any]] = [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]


@extend_schema_field({
    "oneOf": [
        {"type": "string", "maxLength": QUERY_MAX,
         "example": "from=2026-10-01&to=2026-10-31&group_by=billing_point,day"},
        {"type": "object", "additionalProperties": {"oneOf": [
            *_SCALAR, {"type": "array", "items": {"oneOf": _SCALAR}}]},
         "example": {"from": "2026-10-01", "to": "2026-10-31", "group_by": "billing_point,day"}},
    ],
    "description": "The report page's query: its query string as the page's address shows it "
                   "after the “?”, or an object of its parameters (a list repeats one). "
                   "``format`` and ``table`` in it are ignored (they choose the file).",
})
class ReportQueryField(serializers.Field):
    """A page's query, given as a query string or an object; stored as the query string."""

    default_error_messages = {
        "invalid": "Give the page's query string (e.g. \"from=2026-10-01&to=2026-10-31\") or "
                   "an object of its parameters.",
        "value": "Parameter {name!r}: give a string, a number, a boolean or a list of them.",
        "too_long": f"At most {QUERY_MAX} characters (this query is {{length}}).",
    }

    def to_internal_value(self, data: Any) -> str:
        if isinstance(data, str):
            text = data.strip().lstrip("?")
        elif isinstance(data, dict):
            text = urlencode([(name, v) for name, value in data.items()
                              for v in self._values(name, value)])
        else:
            self.fail("invalid")
        if len(text) > QUERY_MAX:
            self.fail("too_long", length=len(text))
        return text

    def _values(self, name: str, value: Any) -> list[str]:
        items = value if isinstance(value, list) else [value]
        out = []
        for item in items:
            if item is None:
                continue
            if isinstance(item, bool):
                out.append("true" if item else "false")
            elif isinstance(item, str | int | float):
                out.append(str(item))
            else:
                self.fail("value", name=name)
        return out

    def to_representation(self, value: str) -> str:
        return value


class PageField(serializers.ChoiceField):
    """A report page that exports, by its path (the choices are read from the URLs, so a
    page added later is offered without editing this)."""

    default_error_messages = {
        "invalid_choice": "No report page {input!r} exports: use the path of one, e.g. "
                          "\"/monitoring/reports/energy/\" (the schema lists them).",
    }

    def __init__(self, **kwargs: Any):
        super().__init__(choices=[], **kwargs)

    def bind(self, field_name: str, parent: Any) -> None:
        """The choices are read when a serializer is made, not at import (the URLs that
        list the pages import this module)."""
        super().bind(field_name, parent)
        pages = exportable_pages()
        self.choices = [path for path, _ in pages]
        self.help_text = "The report page's path: " + "; ".join(
            f"{path} ({title})" for path, title in pages) + "."


class ExportCreateSerializer(serializers.Serializer):
    page = PageField()
    query = ReportQueryField(required=False, default="")
    format = serializers.ChoiceField(
        choices=ExportFormat.choices, help_text="csv: one table (``table``, else the first); "
        "xlsx: one sheet per table; pdf: every table, with the title and period.")
    table = serializers.CharField(max_length=100, required=False, allow_blank=True, default="",
                                  help_text="Only this table of the page, by its name "
                                            "(e.g. \"consumption\", \"cost\").")


class ExportLinksSerializer(serializers.Serializer):
    self = serializers.URLField()
    download = serializers.URLField(allow_null=True, help_text="The file, once status is done "
                                    "(null before, and after it failed).")


class ExportJobSerializer(OrganizationModelSerializer):
    """A background export: its progress while a worker writes it, why it failed, or where
    to download it and until when."""

    query = ReportQueryField(read_only=True)
    progress = serializers.IntegerField(
        source="progress_percent", read_only=True,
        help_text="Percent written (100 when done; 0 while the row count is unknown).")
    notice = serializers.SerializerMethodField(
        help_text="Why a job that is not finished may not finish (no worker, stopped), or "
                  "\"\" when all looks well.")
    available_until = serializers.DateTimeField(
        source="expires_at", read_only=True, allow_null=True,
        help_text="When the finished job and its file are removed (null until finished).")
    links = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = ["id", "title", "page", "query", "format", "table", "status", "progress",
                  "rows_done", "rows_total", "error", "notice", "filename", "created_at",
                  "started_at", "finished_at", "available_until", "links"]
        read_only_fields = fields

    def get_notice(self, job: ExportJob) -> str:
        return "" if job.is_finished else stuck_reason(job)

    @extend_schema_field(ExportLinksSerializer)
    def get_links(self, job: ExportJob) -> dict[str, str | None]:
        request = self.context.get("request")

        def url(name: str) -> str:
            path = reverse(name, kwargs={"id": job.public_id})
            return request.build_absolute_uri(path) if request else path

        done = job.status == ExportJob.Status.DONE
        return {"self": url("api:export-detail"),
                "download": url("api:export-download") if done else None}


class _FileRenderer(BaseRenderer):
    """Lets a client ask for the file's type in ``Accept``; the body is the view's file
    (errors are rendered as JSON by the first renderer)."""

    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return JSONRenderer().render(data)


class CsvFileRenderer(_FileRenderer):
    media_type, format = "text/csv", "csv"


class XlsxFileRenderer(_FileRenderer):
    media_type, format = CONTENT_TYPES["xlsx"], "xlsx"


class PdfFileRenderer(_FileRenderer):
    media_type, format = CONTENT_TYPES["pdf"], "pdf"


FILE_RENDERERS = [JSONRenderer, CsvFileRenderer, XlsxFileRenderer, PdfFileRenderer]


class ExportJobFilter(django_filters.FilterSet):
    # not ``format``: DRF reads ``?format=`` as the answer's renderer
    file_format = django_filters.ChoiceFilter(field_name="format", choices=ExportFormat.choices,
                                              help_text="The file's format.")

    class Meta:
        model = ExportJob
        fields = ["status"]


class ExportJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                       mixins.CreateModelMixin, OrganizationViewSet):
    """Background exports of report pages, newest first: ``POST`` one (checked now, written
    by a worker), poll it, download its file when done. Operators and write keys create;
    every member and read key reads."""

    queryset = ExportJob.objects.all()
    serializer_class = ExportJobSerializer
    write_role = Role.OPERATOR
    filterset_class = ExportJobFilter
    search_fields = ["title"]
    ordering_fields = ["created_at", "finished_at"]

    @extend_schema(
        request=ExportCreateSerializer,
        parameters=[OpenApiParameter(KEY_HEADER, str, OpenApiParameter.HEADER, description=(
            "Create the job once: the same request again answers 200 with that job."))],
        responses={202: ExportJobSerializer,
                   200: OpenApiResponse(ExportJobSerializer, description="A replay of the "
                                        "same Idempotency-Key: the job it created, as it is "
                                        "now.")})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        form = ExportCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        job, replayed = export_job_request(
            page=data["page"], query=data["query"], fmt=data["format"], table=data["table"],
            **Actor.of(request).audit_kwargs(), role=getattr(request, "role", None),
            idempotency_key=request.headers.get(KEY_HEADER, ""))
        job.refresh_from_db()
        body = self.get_serializer(job).data
        response = Response(body, status=status.HTTP_200_OK if replayed
                            else status.HTTP_202_ACCEPTED)
        response["Location"] = body["links"]["self"]
        if replayed:
            response["Idempotent-Replayed"] = "true"
        return response

    @extend_schema(
        # the file renderers only let a client send ``Accept: <the file's type>``; DRF's
        # ``?format=`` override they bring along chooses nothing here
        parameters=[OpenApiParameter("format", exclude=True)],
        responses={(200, media): OpenApiTypes.BINARY for media in (
            "text/csv", CONTENT_TYPES["xlsx"], CONTENT_TYPES["pdf"])},
        description="The file (an attachment with its readable name). A 404 says why there "
                    "is none: ``export_not_ready`` (queued or running), ``export_failed`` "
                    "(with the job's error) or ``export_expired`` (past "
                    "``available_until``).")
    @action(detail=True, methods=["get"], url_path="download", url_name="download",
            renderer_classes=FILE_RENDERERS, filterset_class=None,
            search_fields=[], ordering_fields=[])
    def download(self, request: Request, id: Any = None):
        job = self.get_object()
        refusal = download_refusal(job)
        if refusal is not None:
            code, sentence = refusal
            raise exceptions.NotFound(detail=sentence, code=code)
        return private_file_response(job.file, filename=job.filename or f"export.{job.format}",
                                     content_type=CONTENT_TYPES[job.format])
