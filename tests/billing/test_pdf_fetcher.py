"""WeasyPrint loads nothing but ``data:`` URIs and our static files while it renders a PDF.

Markup that got past escaping must not make a worker request URLs (internal services,
cloud metadata) or read local files into a PDF sent to a tenant. The network test runs a
real HTTP server and counts the requests that reach it; the file test renders markup that
WeasyPrint would otherwise embed (an image, an attachment) and inspects the PDF.
"""

from __future__ import annotations

import base64
import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image
from pypdf import PdfReader

from billing.services import statements as svc
from billing.statements.render import html_to_pdf
from tests.billing.factories_statements import billed_house, brand


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 20), "#0b6e4f").save(buf, "PNG")
    return buf.getvalue()


def _images(pdf: bytes) -> int:
    count = 0
    for page in PdfReader(io.BytesIO(pdf)).pages:
        count += len(page.images)
    return count


@pytest.fixture
def http_server():
    """A real HTTP server on a free local port that records every request path."""
    seen: list[str] = []
    png = _png()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            seen.append(self.path)
            body = png if self.path.endswith(".png") else b"body { background: red }"
            self.send_response(200)
            self.send_header("Content-Type",
                             "image/png" if self.path.endswith(".png") else "text/css")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def test_a_pdf_makes_no_http_request(http_server):
    base, seen = http_server
    # the server answers, so a fetch would have succeeded
    import urllib.request

    assert urllib.request.urlopen(f"{base}/probe.png", timeout=5).status == 200  # noqa: S310
    seen.clear()
    port = base.rsplit(":", 1)[1]
    html = (f'<html><head><link rel="stylesheet" href="{base}/s.css"></head><body>'
            f'<p>Statement</p><img src="{base}/x.png"><img src="http://localhost:{port}/y.png">'
            f'<a rel="attachment" href="{base}/a.png">a</a></body></html>')
    pdf = html_to_pdf(html)
    assert pdf.startswith(b"%PDF")
    assert seen == [], f"the renderer requested {seen}"
    assert _images(pdf) == 0


def test_a_pdf_reads_no_local_file_outside_the_static_folders(tmp_path):
    outside = tmp_path / "secret.png"
    outside.write_bytes(_png())
    html = ('<html><body><p>Statement</p>'
            f'<img src="{outside.as_uri()}">'
            '<link rel="attachment" href="file:///etc/passwd">'
            '<a rel="attachment" href="file:///etc/passwd">passwd</a>'
            '<img src="file:///static/../../../../etc/passwd">'
            '</body></html>')
    pdf = html_to_pdf(html)
    reader = PdfReader(io.BytesIO(pdf))
    assert _images(pdf) == 0
    assert not reader.attachments
    assert b"root:" not in pdf

    # the same image as a data: URI is embedded: the check above is not vacuous
    data_uri = "data:image/png;base64," + base64.b64encode(_png()).decode()
    assert _images(html_to_pdf(f'<html><body><img src="{data_uri}"></body></html>')) == 1


@pytest.mark.parametrize("url", [
    "file:///etc/passwd",
    "file://localhost/etc/passwd",
    "file:///static/../../../../etc/passwd",
    "file:///static/%2e%2e/%2e%2e/etc/passwd",
    "http://127.0.0.1:9/x.png",
    "https://example.com/x.png",
    "ftp://example.com/x",
])
def test_the_fetcher_refuses_everything_but_data_and_static(url):
    from billspree.core.pdf import RefusedURL, url_fetcher

    with pytest.raises(RefusedURL):
        url_fetcher().fetch(url)


def test_the_fetcher_serves_our_static_files_and_data_uris(settings):
    from django.contrib.staticfiles import finders

    from billspree.core.pdf import url_fetcher

    by_static_url = url_fetcher().fetch("file:///static/img/logo.svg")
    assert b"<svg" in by_static_url.read()
    by_path = url_fetcher().fetch(
        "file://" + str(finders.find("css/app.css")))
    assert b"Billspree" in by_path.read()
    assert url_fetcher().fetch("data:text/plain;base64,aGk=").read() == b"hi"


def test_a_real_statement_still_renders_with_its_logo_and_fonts(
        in_org_a, django_capture_on_commit_callbacks, settings, tmp_path):
    from django.core.files.base import ContentFile

    settings.MEDIA_ROOT = str(tmp_path / "media")
    brand(in_org_a.org)
    with django_capture_on_commit_callbacks(execute=True):
        billed = billed_house()
    in_org_a.org.logo.save("alpha.png", ContentFile(_png()), save=True)
    pdf = svc.invoice_statement_render(invoice=billed.invoice)
    reader = PdfReader(io.BytesIO(pdf))
    first = reader.pages[0]
    assert len(first.images) >= 1  # the logo
    fonts = first["/Resources"]["/Font"]
    def descriptor(font):
        font = font.get_object()
        if "/DescendantFonts" in font:
            font = font["/DescendantFonts"][0].get_object()
        return font["/FontDescriptor"].get_object()

    embedded = [f for f in fonts.values()
                if any(k in descriptor(f) for k in ("/FontFile", "/FontFile2", "/FontFile3"))]
    assert fonts and embedded, "the statement's fonts are embedded"
    assert "Statement" in first.extract_text() or "INVOICE" in first.extract_text().upper()
