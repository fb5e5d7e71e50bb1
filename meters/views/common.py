"""Helpers of the meters portal views: the manager-only base views, field names of flows."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from billspree.core.models import Role
from billspree.core.portal import OrganizationPortalMixin
from billspree.core.portal_forms import form_errors
from billspree.core.portal_views import ActorMixin

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


class ServiceEditView(WriteView):
    """Edit one row through its update service, passing on only the fields that changed.

    Subclasses name the form, template and detail page and implement :meth:`update`;
    a service's ``ValidationError`` lands on the form's fields.
    """

    form_class: Any
    template_name: str
    context_name: str
    nav_section: str
    detail_url_name: str
    saved_message: str

    def update(self, obj: Any, changed: dict[str, Any]) -> None:
        raise NotImplementedError

    def get(self, request: HttpRequest, id: str) -> HttpResponse:
        obj = get_object_or_404(self.model, public_id=id)
        return self._render(obj, self.form_class(instance=obj))

    def post(self, request: HttpRequest, id: str) -> HttpResponse:
        obj = get_object_or_404(self.model, public_id=id)
        # the form edits a fresh copy, so a failed save leaves ``obj`` as stored
        form = self.form_class(request.POST, instance=self.model.objects.get(pk=obj.pk))
        if form.is_valid():
            changed = {k: form.cleaned_data[k] for k in form.changed_data}
            try:
                self.update(obj, changed)
            except ValidationError as exc:
                form_errors(form, exc)
            else:
                messages.success(request, self.saved_message if changed else "Nothing changed.")
                return redirect(self.detail_url_name, id=obj.public_id)
        return self._render(obj, form, status=400)

    def _render(self, obj: Any, form: Any, status: int = 200) -> HttpResponse:
        ctx = {self.context_name: obj, "form": form, "nav_section": self.nav_section}
        return render(self.request, self.template_name, ctx, status=status)
