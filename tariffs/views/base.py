"""Shared pieces of the tariffs portal: the tariffs form page and the confirm-then-delete
view, on the portal kit of the core."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from billspree.core import portal_views
from tariffs import services

PAGE_SIZE = 25


class ServiceFormView(portal_views.ServiceFormView):
    """``tariffs/form.html`` with its title, submit label, tab and back link; service errors
    on arguments without a field are shown on top as "argument: message"."""

    template_name = "tariffs/form.html"
    model: Any = None
    title = ""
    submit = "Save"
    tab = ""
    prefix_unknown_errors = True

    def context(self, form, **extra) -> dict[str, Any]:
        return {**super().context(form), "title": self.title, "submit": self.submit,
                "tab": self.tab, "back": self.request.GET.get("back", ""), **extra}


class DeleteView(portal_views.ConfirmView):
    """Confirmation page, then delete through the service (refused while in use).

    ``tariffs/urls.py`` makes one per model with ``model``/``tab``/``back`` (the list's URL
    name); rate lists, versions and rules subclass it with their own service and pages."""

    confirm_template = "tariffs/confirm_delete.html"
    tab = ""
    back = ""
    warning = ""

    def warning_for(self, obj: Any) -> str:
        return self.warning

    def cancel_url(self, obj: Any) -> str:
        return reverse(self.back) if self.back else ""

    def confirm_context(self, obj: Any) -> dict[str, Any]:
        return {"object": obj, "tab": self.tab, "warning": self.warning_for(obj),
                "cancel": self.cancel_url(obj)}

    def act(self, obj: Any) -> str:
        services.delete(instance=obj, **self.actor.kwargs())
        return f"Deleted {obj}."

    def success_url(self, obj: Any) -> str:
        return reverse(self.back)
