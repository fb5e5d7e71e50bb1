"""Helpers of the meters portal views: the manager-only base views, field names of flows."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views import View

from billspree.core.models import Role
from billspree.core.portal import OrganizationPortalMixin
from billspree.core.portal_views import ActorMixin, ServiceFormView

PAGE_SIZE = 25
ASSIGN_NAMES = {"connected_at": "connected_on", "initial_reading": "initial_reading"}
REMOVE_NAMES = {"removed_at": "removed_on", "final_reading": "final_reading"}
REPLACE_NAMES = {
    "removed_at": "replaced_on",
    "connected_at": "replaced_on",
    "new_meter": "new_meter",
    "meter": "new_meter",
    "final_reading": "final_reading",
    "initial_reading": "initial_reading",
}


def query_without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


class WriteView(ActorMixin, OrganizationPortalMixin, View):
    """A form page only managers see (viewers get 403 on GET too: nothing to do there)."""

    read_role = Role.MANAGER


class ServiceEditView(ServiceFormView):
    """Edit one row through its update service, passing on only the fields that changed.

    Subclasses name the form, template and detail page and implement :meth:`update`;
    a service's ``ValidationError`` lands on the form's fields.
    """

    read_role = Role.MANAGER
    form_class: Any
    template_name: str
    context_name: str
    nav_section: str
    detail_url_name: str
    saved_message: str
    changed: dict[str, Any]

    def update(self, obj: Any, changed: dict[str, Any]) -> None:
        raise NotImplementedError

    @cached_property
    def object(self) -> Any:
        return get_object_or_404(self.model, public_id=self.kwargs["id"])

    def make_form(self, data: Any = None) -> Any:
        if data is None:
            return self.form_class(instance=self.object)
        # the form edits a fresh copy, so a failed save leaves ``self.object`` as stored
        return self.form_class(data, instance=self.model.objects.get(pk=self.object.pk))

    def context(self, form: Any, **extra: Any) -> dict[str, Any]:
        return super().context(form, **{self.context_name: self.object},
                               nav_section=self.nav_section, **extra)

    def save(self, form: Any) -> Any:
        self.changed = {k: form.cleaned_data[k] for k in form.changed_data}
        self.update(self.object, self.changed)
        return self.object

    def success_message(self, obj: Any) -> str:
        return self.saved_message if self.changed else "Nothing changed."

    def success_url(self, obj: Any) -> str:
        return reverse(self.detail_url_name, kwargs={"id": obj.public_id})
