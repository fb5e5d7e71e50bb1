"""What WeasyPrint may load while it lays out a PDF: our own static files and ``data:`` URIs.

Statements carry text that organizations and tenants typed (names, addresses, payment
details). Templates escape it, but escaping should not be the only wall: if markup ever got
through, an ``<img src="http://169.254.169.254/…">`` would make the worker request internal
addresses, and ``<link href="file:///etc/…">`` would pull local files into a PDF sent to a
tenant. This fetcher refuses every URL except

- ``data:`` URIs (the organization's logo and the charts are inlined that way), and
- files inside the product's static folders (``STATICFILES_DIRS``, ``STATIC_ROOT``),
  addressed as ``file://`` paths or by their ``STATIC_URL`` path, after resolving ``..``
  and symbolic links.

A refused URL is not fetched at all (WeasyPrint logs it and renders without it).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import SuspiciousFileOperation

if TYPE_CHECKING:
    from weasyprint.urls import URLFetcher


class RefusedURL(ValueError):  # noqa: N818 (reads as what happened, like ValueError's uses)
    """A URL a PDF may not load."""


def static_roots() -> list[Path]:
    roots = [Path(d if isinstance(d, str | Path) else d[1]) for d in settings.STATICFILES_DIRS]
    if settings.STATIC_ROOT:
        roots.append(Path(settings.STATIC_ROOT))
    return [r.resolve() for r in roots]


def _static_file(url: str) -> Path | None:
    """The static file ``url`` (``file://…``) names, or None when it names anything else."""
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        return None
    path = unquote(parts.path)
    static_prefix = "/" + settings.STATIC_URL.strip("/") + "/"
    candidates = [Path(path)]
    if path.startswith(static_prefix):
        # "/static/img/logo.svg" as a template's {% static %} writes it
        try:
            found = finders.find(path[len(static_prefix):])
        except SuspiciousFileOperation:
            found = None
        if found:
            candidates.append(Path(found if isinstance(found, str) else found[0]))
    roots = static_roots()
    for candidate in candidates:
        resolved = candidate.resolve()
        if resolved.is_file() and any(resolved.is_relative_to(root) for root in roots):
            return resolved
    return None


@cache
def _fetcher_class() -> type[URLFetcher]:
    """The fetcher class, made on first use: importing WeasyPrint costs a process ~43 MB
    (its fonts, Pango and CSS machinery), which web workers that only link to stored PDFs
    and stream CSV exports should not carry (issue 18: an export's peak RSS < 150 MB)."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyURLFetcher(URLFetcher):
        """WeasyPrint's fetcher limited to ``data:`` URIs and the product's static files."""

        def __init__(self) -> None:
            super().__init__(allowed_protocols={"data", "file"}, allow_redirects=False,
                             timeout=5)

        def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
            scheme = url.split(":", 1)[0].lower()
            if scheme == "data":
                return super().fetch(url, headers)
            if scheme == "file":
                found = _static_file(url)
                if found is not None:
                    return super().fetch(found.as_uri(), headers)
            raise RefusedURL(
                "PDFs load only the product's static files and data: URIs; refused "
                f"{url[:200]}"
            )

    return StaticOnlyURLFetcher


def url_fetcher() -> URLFetcher:
    """A fresh fetcher (URLFetcher keeps per-request state, so one per render)."""
    return _fetcher_class()()
