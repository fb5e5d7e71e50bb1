"""Files people upload: where they live, how big they may be, how they are served.

Why one module: an uploaded file (a readings CSV, its error report, an organization's logo)
is organization data like any row, so it must be as private as a row. It lives in the
``uploads`` storage (``settings.STORAGES["uploads"]``: a folder outside any URL, or a
private S3 bucket) under a random name, so neither a guessed path nor the sender's file
name leads to it; and it leaves the server only through :func:`private_file_response`,
called by views that looked the owning row up through the organization scope (or the
tenant portal's scope), so another organization's file answers 404 like a missing one.

The size limit (``settings.UPLOAD_MAX_BYTES``) is enforced twice: while the request is read
(:class:`SizeLimitUploadHandler` stops passing bytes on, so a 5 GB post never reaches the
disk) and by the services (:func:`check_upload_size`) before anything is stored, with a
message that names the limit.
"""

from __future__ import annotations

import io
import mimetypes
import posixpath
import uuid
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import Storage, storages
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.http import FileResponse, Http404
from django.utils import timezone


def uploads_storage() -> Storage:
    """The private ``uploads`` storage (filesystem by default, S3-compatible by setting)."""
    return storages["uploads"]


def random_name(folder: str, filename: str, *, extensions: tuple[str, ...] = ()) -> str:
    """``folder/YYYY/MM/<uuid4>.<ext>``: the sender's name never reaches the storage (it is
    kept on the row for display); the extension is kept only when it is an expected one."""
    ext = posixpath.splitext(filename or "")[1].lower()
    if ext not in extensions:
        ext = extensions[0] if extensions else ""
    return f"{folder}/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{ext}"


# --- size limit ---------------------------------------------------------------------------


def format_bytes(size: int) -> str:
    """50 MB, 1.5 kB, 12 bytes: the limit as people read it (decimal units)."""
    for unit, factor in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if size >= factor:
            text = f"{size / factor:.1f}".removesuffix(".0")
            return f"{text} {unit}"
    return f"{size} bytes"


def upload_limit_message(size: int | None = None) -> str:
    limit = format_bytes(settings.UPLOAD_MAX_BYTES)
    if size is None:
        return f"The file is larger than the limit of {limit}."
    return f"The file is {format_bytes(size)}; the largest file accepted is {limit}."


def check_upload_size(file: Any, *, field: str = "file") -> None:
    """Refuse a file over ``UPLOAD_MAX_BYTES`` (a ValidationError naming the field and the
    limit), before the caller stores anything."""
    size = getattr(file, "size", None)
    if size is None:
        return
    if getattr(file, "oversize", False) or size > settings.UPLOAD_MAX_BYTES:
        raise ValidationError({field: [upload_limit_message(size)]})


class OversizeUploadedFile(UploadedFile):
    """Stands in for a file the request carried beyond the limit: it knows its size (what
    was received) but holds no content, so the form or service answers with the limit."""

    oversize = True

    def __init__(self, *, name: str, content_type: str, size: int, charset: str | None) -> None:
        super().__init__(io.BytesIO(b""), name, content_type, size, charset)


class SizeLimitUploadHandler(FileUploadHandler):
    """First upload handler: counts each file's bytes, and once a file passes
    ``UPLOAD_MAX_BYTES`` stops handing its chunks to the memory/temporary-file handlers
    after it, and completes it as an :class:`OversizeUploadedFile`.

    Why not :class:`~django.core.files.uploadhandler.StopUpload`: it drops the rest of the
    form (the CSRF token may follow the file), and the person would get "no file" or a
    CSRF page instead of the limit.
    """

    def new_file(self, field_name, file_name, content_type, content_length, charset=None,
                 content_type_extra=None):
        super().new_file(field_name, file_name, content_type, content_length, charset,
                         content_type_extra)
        self.received = 0
        self.over = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > settings.UPLOAD_MAX_BYTES:
            self.over = True
        return None if self.over else raw_data

    def file_complete(self, file_size: int) -> UploadedFile | None:
        if not self.over:
            return None  # the next handler returns the real file
        return OversizeUploadedFile(
            name=self.file_name, content_type=self.content_type, size=self.received,
            charset=self.charset,
        )


class SizeLimitedFileMixin:
    """Form file fields that answer "over the limit" before anything else looks at the
    file (an oversize file has no content: an image field would say "not an image")."""

    def to_python(self, data: Any) -> Any:
        size = getattr(data, "size", None)
        if size is not None and (getattr(data, "oversize", False)
                                 or size > settings.UPLOAD_MAX_BYTES):
            raise ValidationError(upload_limit_message(size), code="file_too_large")
        return super().to_python(data)  # type: ignore[misc]


class LimitedFileField(SizeLimitedFileMixin, forms.FileField):
    pass


class LimitedImageField(SizeLimitedFileMixin, forms.ImageField):
    pass


# --- serving ---------------------------------------------------------------------------------


def private_file_response(
    file: Any, *, filename: str, content_type: str | None = None, as_attachment: bool = True,
    cache_seconds: int = 0,
) -> FileResponse:
    """Stream a stored file to a caller the view has already checked (404 if it is missing).

    ``nosniff`` and an explicit type keep a browser from reading a CSV or an image as a
    page; responses are ``private`` (never stored by a shared cache).
    """
    if not file:
        raise Http404("No file.")
    try:
        handle = file.storage.open(file.name, "rb")
    except (FileNotFoundError, OSError) as exc:
        raise Http404("The file is missing.") from exc
    kind = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
    response = FileResponse(handle, as_attachment=as_attachment, filename=filename,
                            content_type=kind)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = (
        f"private, max-age={cache_seconds}" if cache_seconds else "private, no-store"
    )
    return response


# --- moving files of older releases -------------------------------------------------------


def move_field_files(
    rows: Any, field: str, folder: str, *, extensions: tuple[str, ...] = ()
) -> int:
    """Move files that older releases kept in the public ``default`` storage (MEDIA_ROOT,
    original names) into the private ``uploads`` storage under random names, and point the
    rows at them. For data migrations (``rows`` is a historical model's queryset).

    Idempotent: a row whose file already is in ``uploads`` is left alone; a row whose old
    file is missing keeps its name (its download answers 404, as it did before).
    """
    source, target = storages["default"], uploads_storage()
    moved = 0
    for row in rows.exclude(**{field: ""}).iterator():
        name = getattr(row, field).name
        if target.exists(name) or not source.exists(name):
            continue
        with source.open(name, "rb") as fh:
            new_name = target.save(random_name(folder, name, extensions=extensions), fh)
        rows.model._base_manager.filter(pk=row.pk).update(**{field: new_name})
        source.delete(name)
        moved += 1
    return moved


def logo_response(org: Any) -> FileResponse:
    """An organization's logo inline (for an <img>), cacheable by the browser only: its
    URL carries ``?v=<logo_version>``, which changes with the logo."""
    ext = posixpath.splitext(org.logo.name)[1].lower() or ".png"
    return private_file_response(
        org.logo, filename=f"logo{ext}", as_attachment=False, cache_seconds=86400,
    )
