"""A viewer is offered nothing they cannot do.

The crawl logs in as the viewer of a populated organization, follows every portal link it
is offered from the dashboard on, and checks on every page it reaches:

- each link answers a viewer (no 403: a link that is offered must open);
- no form or htmx request that changes something (POST, PUT, PATCH, DELETE) is offered,
  except logging out and switching organization, which every member may do.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urldefrag, urlsplit

from tests.conftest import login_client

#: What every member may POST: log out, switch organization.
ALWAYS_ALLOWED = ("/accounts/logout/", "/organizations/")
#: Not portal pages: static files, the API (its own role tests), downloads and the admin.
NOT_CRAWLED = ("/static/", "/api/", "/admin/", "/accounts/", "/my/", "/media/")
DOWNLOAD_HINTS = (".pdf", ".csv", ".xlsx", "/pdf/", "/csv/", "/export", "/download",
                  "/template", "/logo/")
MAX_PAGES = 220


class _Offers(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.writes: list[tuple[str, str]] = []  # (method, target)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "form" and a.get("method", "get").lower() != "get":
            self.writes.append((a.get("method", "").upper(), a.get("action", "")))
        for verb in ("post", "put", "patch", "delete"):
            if f"hx-{verb}" in a:
                self.writes.append((verb.upper(), a[f"hx-{verb}"]))


def _local(href: str, page: str) -> str | None:
    href = urldefrag(href)[0]
    if not href or href.startswith(("mailto:", "tel:", "javascript:")):
        return None
    parts = urlsplit(href)
    if parts.scheme or parts.netloc:
        return None
    if not parts.path:  # "?page=2" on the same page
        return page.split("?")[0] + (f"?{parts.query}" if parts.query else "")
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _skip(url: str) -> bool:
    path = url.split("?")[0]
    return path.startswith(NOT_CRAWLED) or any(h in path for h in DOWNLOAD_HINTS)


def _run_in_review(world) -> None:
    """The world's bill run waiting for review with the draft invoice in it (the review
    form is what a viewer must not be offered)."""
    from billing.models import BillRun, BillRunStatus, Invoice
    from billspree.core.scoping import organization_context

    with organization_context(world.org):
        run = world.objects["bill_run"]
        BillRun.objects.filter(pk=run.pk).update(status=BillRunStatus.REVIEW)
        Invoice.objects.filter(pk=world.objects["invoice"].pk).update(bill_run=run)


def test_viewer_is_offered_only_what_a_viewer_may_do(populated):
    world_a, _ = populated
    _run_in_review(world_a)
    client = login_client(world_a.viewer, world_a.org)
    client.raise_request_exception = False
    seen, queue, problems = {"/"}, ["/"], []
    while queue and len(seen) <= MAX_PAGES:
        url = queue.pop(0)
        response = client.get(url, follow=True)
        if response.status_code != 200:
            problems.append(f"{url} answers a viewer {response.status_code}")
            continue
        if "text/html" not in response.get("Content-Type", ""):
            continue
        parser = _Offers()
        parser.feed(response.content.decode())
        for method, target in parser.writes:
            target = target or url
            if not target.startswith(ALWAYS_ALLOWED):
                problems.append(f"{url} offers {method} {target}")
        for href in parser.links:
            link = _local(href, url)
            if link and link not in seen and not _skip(link):
                seen.add(link)
                queue.append(link)
    assert len(seen) > 30, f"the crawl reached only {len(seen)} pages"
    assert not problems, "\n".join(sorted(set(problems)))


def test_a_viewer_dashboard_has_no_admin_cards(populated):
    world_a, _ = populated
    html = login_client(world_a.viewer, world_a.org).get("/").content.decode()
    assert "Getting started" not in html
    assert "API keys" not in html
    admin = login_client(world_a.admin, world_a.org).get("/").content.decode()
    assert "Getting started" in admin and "API keys" in admin
