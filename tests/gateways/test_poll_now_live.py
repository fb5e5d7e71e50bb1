""""Poll now" on the gateway page follows the poll and then refreshes the page's figures
(htmx), as a bill run's progress does: waiting for a worker → running → done."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from gateways.models import Gateway, PollRun
from tests.conftest import login_client
from tests.gateways.helpers import make_gateway, map_default_layout

HX = {"HTTP_HX_REQUEST": "true"}


def _status(client, gateway):
    return client.get(f"/gateways/{gateway.public_id}/poll/status/", **HX)


def test_poll_now_from_the_page_follows_the_poll_then_refreshes_the_figures(
    in_org_a, sim, django_capture_on_commit_callbacks
):
    gateway = make_gateway(sim, name="Cellar gateway")
    map_default_layout(gateway, 2)
    client = login_client(in_org_a.operator, in_org_a.org)
    page = client.get(f"/gateways/{gateway.public_id}/").content.decode()
    assert 'hx-post="/gateways/' in page and 'hx-target="#poll-status"' in page
    assert "gateway-polled from:body" in page  # the figures reload when a poll is done

    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(f"/gateways/{gateway.public_id}/poll/", **HX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert 'data-state="waiting"' in html and "waiting for a worker" in html
    assert f'hx-get="/gateways/{gateway.public_id}/poll/status/"' in html  # it follows
    assert "HX-Trigger" not in response

    for callback in queued:  # the worker runs the poll
        callback()
    response = _status(client, gateway)
    html = response.content.decode()
    assert 'data-state="done"' in html and "hx-get" not in html  # stops following
    assert response["HX-Trigger"] == "gateway-polled"
    run = PollRun.objects.get(gateway=gateway, manual=True)
    assert run.status == PollRun.Status.OK and run.summary in html
    live = client.get(f"/gateways/{gateway.public_id}/", **HX).content.decode()
    assert "<html" not in live and 'data-testid="gateway-figures"' in live
    assert "Online" in live and "manual" in live


def test_a_running_poll_shows_its_progress(in_org_a):
    gateway = make_gateway(None, name="Slow gateway")
    now = timezone.now()
    Gateway.objects.filter(pk=gateway.pk).update(last_manual_slot=now)
    PollRun.objects.create(gateway=gateway, slot=now, manual=True, started_at=now,
                           requests=3, meters_ok=2)
    html = _status(login_client(in_org_a.viewer, in_org_a.org), gateway).content.decode()
    assert 'data-state="running"' in html and "3 requests so far, 2 meters read" in html
    assert "hx-get" in html


def test_a_poll_no_worker_starts_is_reported_and_not_followed_forever(in_org_a):
    gateway = make_gateway(None, name="Lonely gateway")
    Gateway.objects.filter(pk=gateway.pk).update(
        last_manual_slot=timezone.now() - timedelta(minutes=5))
    html = _status(login_client(in_org_a.operator, in_org_a.org), gateway).content.decode()
    assert 'data-state="stuck"' in html and "Is the worker running?" in html
    assert "hx-get" not in html


def test_poll_now_of_a_disabled_gateway_says_why_in_place(in_org_a):
    gateway = make_gateway(None, name="Off gateway")
    Gateway.objects.filter(pk=gateway.pk).update(enabled=False)
    response = login_client(in_org_a.operator, in_org_a.org).post(
        f"/gateways/{gateway.public_id}/poll/", **HX)
    html = response.content.decode()
    assert 'data-state="error"' in html and "disabled" in html
    assert not PollRun.objects.filter(gateway=gateway).exists()


def test_without_javascript_poll_now_still_redirects_with_a_message(in_org_a):
    gateway = make_gateway(None, name="Plain gateway")
    response = login_client(in_org_a.operator, in_org_a.org).post(
        f"/gateways/{gateway.public_id}/poll/")
    assert response.status_code == 302 and response.url == f"/gateways/{gateway.public_id}/"
