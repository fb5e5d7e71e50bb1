"""Admin of readings: read-only views of uploads, replaced values and anomalies.

Readings themselves are not in the admin: the table is partitioned with a composite key
(which Django's admin does not support), and every change must go through the ingestion
service's rules (the portal and the API use it).
"""

from django.contrib import admin

from billspree.core.admin_site import ReadOnlyScopedAdmin
from readings.models import ReadingAnomaly, ReadingRevision, Upload


@admin.register(Upload)
class UploadAdmin(ReadOnlyScopedAdmin):
    list_display = ("__str__", "source", "status", "rows_total", "created_count", "error_count")
    list_filter = ("source", "status")
    search_fields = ("filename", "note", "idempotency_key")
    # private files (their storage URL would lead nowhere): the upload page downloads them
    exclude = ("organization", "response", "errors", "file", "error_report")


@admin.register(ReadingRevision)
class ReadingRevisionAdmin(ReadOnlyScopedAdmin):
    list_display = ("meter", "read_at", "old_value", "new_value", "created_at")
    list_select_related = ("meter",)


@admin.register(ReadingAnomaly)
class ReadingAnomalyAdmin(ReadOnlyScopedAdmin):
    list_display = ("meter", "read_at", "value", "status", "reason")
    list_filter = ("status",)
    list_select_related = ("meter",)
