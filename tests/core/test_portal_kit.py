"""The portal kit of the core: service errors onto forms, pagination, who acts, and the
form / confirm views through real pages."""

from __future__ import annotations

import pytest
from django import forms
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.test import RequestFactory
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory

from billspree.core.actor import Actor
from billspree.core.api_base import OrganizationAPIView
from billspree.core.errors import Conflict
from billspree.core.models import ApiKey, Invitation, Membership
from billspree.core.portal_forms import error_text, form_errors
from billspree.core.portal_pages import page_context, paginate
from billspree.core.scoping import organization_context
from meters.forms import MeterForm
from meters.models import Meter, MeterType
from tests.conftest import login_client
from tests.meters.factories import make_registry

pytestmark = pytest.mark.django_db


class _Form(forms.Form):
    name = forms.CharField()
    connected_on = forms.DateField(required=False)


def _bound() -> _Form:
    form = _Form({"name": "x"})
    assert form.is_valid()
    return form


# --- form_errors ---------------------------------------------------------------------------


def test_field_errors_land_on_their_fields_and_the_rest_on_top():
    form = _bound()
    form_errors(form, ValidationError({"name": ["Taken."], "colour": ["Unknown colour."]}))
    assert form.errors["name"] == ["Taken."]
    assert form.non_field_errors() == ["Unknown colour."]


def test_names_map_service_arguments_to_form_fields():
    form = _bound()
    form_errors(form, ValidationError({"connected_at": ["Before the move-in."]}),
                names={"connected_at": "connected_on"})
    assert form.errors["connected_on"] == ["Before the move-in."]
    assert not form.non_field_errors()


def test_unknown_arguments_can_be_named_or_sent_to_a_default_field():
    form = _bound()
    form_errors(form, ValidationError({"colour": ["Unknown."]}), prefix_unknown=True)
    assert form.non_field_errors() == ["colour: Unknown."]
    form = _bound()
    form_errors(form, ValidationError({"colour": ["Unknown."]}), default="name")
    assert form.errors["name"] == ["Unknown."]


def test_a_message_without_fields_goes_on_top():
    form = _bound()
    form_errors(form, ValidationError("Nothing to bill."))
    assert form.non_field_errors() == ["Nothing to bill."]


def test_a_conflict_goes_on_the_field_it_names_else_on_top():
    form = _bound()
    form_errors(form, Conflict("Held by someone else.", fields={"name": ["held"]}))
    assert form.errors["name"] == ["Held by someone else."]
    assert not form.non_field_errors()
    form = _bound()
    form_errors(form, Conflict("The run is finished."))
    assert form.non_field_errors() == ["The run is finished."]
    assert list(form.errors) == ["__all__"]


def test_error_text_joins_every_message():
    assert error_text(Conflict("Busy.")) == "Busy."
    assert error_text(ValidationError({"a": ["One."], "b": ["Two."]})) == "One. Two."
    assert error_text(ValidationError(["One.", "Two."])) == "One. Two."


# --- paginate ------------------------------------------------------------------------------


@pytest.mark.parametrize(("asked", "shown"), [
    ("", 1), ("2", 2), ("abc", 1), ("999", 3), ("-1", 3), ("last", 1),
])
def test_bad_page_numbers_show_the_first_or_last_page(asked, shown):
    request = RequestFactory().get("/", {"page": asked})
    page = paginate(request, list(range(25)), per_page=10)
    assert page.number == shown
    ctx = page_context(page, rows="items")
    assert ctx["is_paginated"] and ctx["page_obj"] is page
    assert list(ctx["items"]) == list(range(25))[(shown - 1) * 10 : shown * 10]


def test_a_list_page_with_a_bad_page_number_answers_200(world_a):
    manager = login_client(world_a.manager, world_a.org)
    for asked in ("abc", "999", "0"):
        assert manager.get(f"/meters/?page={asked}").status_code == 200


def test_a_listview_list_pages_as_forgivingly(world_a):
    """ListView lists (tenants: 25 a page) show the first or last page for a bad number,
    where Django's own paging answered 404."""
    from tenants.services import tenant_create

    with organization_context(world_a.org):
        for i in range(30):
            tenant_create(name=f"Paging tenant {i:02d}", kind="person")
    manager = login_client(world_a.manager, world_a.org)
    for asked, shown in (("abc", 1), ("999", 2), ("0", 2), ("2", 2)):
        response = manager.get(f"/tenants/?page={asked}")
        assert response.status_code == 200, asked
        assert response.context["page_obj"].number == shown, asked


# --- Actor ---------------------------------------------------------------------------------


def test_actor_of_a_session_user(world_a):
    request = RequestFactory().post("/")
    request.user = world_a.manager
    actor = Actor.of(request)
    assert actor == Actor(user=world_a.manager)
    assert actor.kwargs() == {"actor": world_a.manager}
    assert actor.audit_kwargs() == {"actor": world_a.manager, "api_key": None}
    request.user = AnonymousUser()
    assert Actor.of(request).kwargs() == {"actor": None}


class _WhoActs(OrganizationAPIView):
    def get(self, request):
        actor = Actor.of(request)
        return Response({"user": getattr(actor.user, "email", None),
                         "api_key": actor.api_key and str(actor.api_key.public_id),
                         "kwargs": sorted(actor.kwargs())})


def test_actor_of_an_api_key_request(world_a):
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Api-Key {world_a.write_key}")
    with organization_context(None):  # the view sets the key's organization; undo it after
        response = _WhoActs.as_view()(request)
    assert response.status_code == 200
    with organization_context(world_a.org):
        key = ApiKey.objects.get(name__startswith="write key")
    assert response.data == {"user": None, "api_key": str(key.public_id),
                             "kwargs": ["actor", "api_key"]}


# --- the views, through real pages ---------------------------------------------------------

METER = {"type": "electricity", "serial_number": "E-1", "unit": "m³", "multiplier": "1",
         "register_digits": "8"}


def _meters(org) -> int:
    with organization_context(org):
        return Meter.objects.count()


def test_service_form_view_shows_the_services_field_error_and_writes_nothing(world_a):
    with organization_context(world_a.org):
        assert MeterForm(METER).is_valid()  # the form accepts it: the service refuses
    manager = login_client(world_a.manager, world_a.org)
    r = manager.post("/meters/new/", METER)
    assert r.status_code == 400 and b'data-field="unit"' in r.content
    assert _meters(world_a.org) == 0
    r = manager.post("/meters/new/", {**METER, "unit": "kWh"})
    assert r.status_code == 302 and _meters(world_a.org) == 1


def test_confirm_view_asks_first_and_a_refusal_writes_nothing(world_a):
    from datetime import date

    from meters import services

    with organization_context(world_a.org):
        prop, bp, meters = make_registry()
        water = meters[MeterType.COLD_WATER]
        services.meter_assign(billing_point=bp, meter=water, connected_at=date(2026, 1, 1))
    manager = login_client(world_a.manager, world_a.org)
    count = _meters(world_a.org)
    r = manager.get(f"/meters/{water.public_id}/delete/")
    assert r.status_code == 200 and b"Delete meter" in r.content
    r = manager.post(f"/meters/{water.public_id}/delete/")  # no confirm: the page again
    assert r.status_code == 200 and _meters(world_a.org) == count
    r = manager.post(f"/meters/{water.public_id}/delete/", {"confirm": "1"}, follow=True)
    assert b"history is kept" in r.content and _meters(world_a.org) == count


def test_action_view_acts_and_a_conflict_becomes_a_message(world_a):
    admin = login_client(world_a.admin, world_a.org)
    r = admin.post("/settings/members/", {"email": "new@example.test", "role": "viewer"})
    assert r.status_code == 302
    with organization_context(world_a.org):
        invitation = Invitation.objects.get(email="new@example.test")
        owner = Membership.objects.get(user=world_a.admin)
    r = admin.post(f"/settings/invitations/{invitation.public_id}/revoke/", follow=True)
    assert b"Invitation of new@example.test revoked." in r.content
    with organization_context(world_a.org):
        invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    # the last admin cannot be removed: the Conflict is the page's message, nothing changes
    r = admin.post(f"/settings/members/{owner.public_id}/remove/", follow=True)
    assert r.status_code == 200 and b"cannot remove the last admin" in r.content
    with organization_context(world_a.org):
        assert Membership.objects.filter(pk=owner.pk).exists()
