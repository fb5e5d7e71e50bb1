"""The portal kit's views: a form that calls a service, and an action behind a confirmation.

``ServiceFormView``: GET shows the form; POST validates it, calls :meth:`save` (one service
call, with ``**self.actor.kwargs()``) and redirects with a message; a service's
``ValidationError``/``Conflict`` lands on the form (:func:`form_errors`) and the page
answers 400 (services are atomic: a refused call wrote nothing).

``ActionView``: POST loads the row of the URL's ``id``, calls :meth:`act` (one service
call, returning the message to show) and redirects; a refusal becomes an error message.
``ConfirmView`` adds the confirmation page a destructive action needs (GET), and with
``require_confirm`` a POST without ``confirm=1`` shows that page again instead of acting.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from billspree.core.actor import Actor
from billspree.core.errors import Conflict
from billspree.core.portal import OrganizationPortalMixin
from billspree.core.portal_forms import error_text, form_errors


def confirmed(request: HttpRequest) -> bool:
    """The POST came from a confirmation page (its button sends ``confirm=1``)."""
    return request.POST.get("confirm") == "1"


class ActorMixin:
    """``self.actor``: who acts in this request (pass ``**self.actor.kwargs()`` on)."""

    request: HttpRequest

    @property
    def actor(self) -> Actor:
        return Actor.of(self.request)


class ServiceFormView(ActorMixin, OrganizationPortalMixin, View):
    template_name: str = ""
    form_class: Any = None
    #: service argument → form field, for errors on arguments the form names otherwise
    error_names: Mapping[str, str] = {}
    #: errors on arguments the form has no field for are shown as "argument: message"
    prefix_unknown_errors = False

    #: more context of the page (``nav_section``, ...)
    extra_context: Mapping[str, Any] = {}

    def initial(self) -> dict[str, Any]:
        return {}

    def make_form(self, data: Any = None) -> Any:
        return self.form_class(data, initial=self.initial())

    def save(self, form: Any) -> Any:
        raise NotImplementedError

    def success_message(self, obj: Any) -> str:
        return f"Saved {obj}."

    def success_url(self, obj: Any) -> str:
        raise NotImplementedError

    def context(self, form: Any, **extra: Any) -> dict[str, Any]:
        return {"form": form, **self.extra_context, **extra}

    def render_form(self, form: Any, status: int = 200) -> HttpResponse:
        return render(self.request, self.template_name, self.context(form), status=status)

    def get(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        return self.render_form(self.make_form())

    def post(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        form = self.make_form(request.POST)
        if form.is_valid():
            try:
                obj = self.save(form)
            except (ValidationError, Conflict) as exc:
                form_errors(form, exc, names=self.error_names,
                            prefix_unknown=self.prefix_unknown_errors)
            else:
                messages.success(request, self.success_message(obj))
                return redirect(self.success_url(obj))
        return self.render_form(form, status=400)


class ActionView(ActorMixin, OrganizationPortalMixin, View):
    model: Any = None
    #: where the row is looked up (default: ``model.objects``)
    queryset: Any = None

    def get_object(self) -> Any:
        source = self.queryset if self.queryset is not None else self.model
        return get_object_or_404(source, public_id=self.kwargs["id"])

    def act(self, obj: Any) -> str:
        """Call the service; return the message saying what was done."""
        raise NotImplementedError

    def success_url(self, obj: Any) -> str:
        raise NotImplementedError

    def failure_url(self, obj: Any) -> str:
        return self.success_url(obj)

    def post(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        obj = self.get_object()
        try:
            done = self.act(obj)
        except (ValidationError, Conflict) as exc:
            messages.error(request, error_text(exc))
            return redirect(self.failure_url(obj))
        messages.success(request, done)
        return redirect(self.success_url(obj))


class ConfirmView(ActionView):
    confirm_template: str = ""
    #: a POST without ``confirm=1`` shows the confirmation page instead of acting
    require_confirm = False

    def confirm_context(self, obj: Any) -> dict[str, Any]:
        return {"object": obj}

    def get(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        obj = self.get_object()
        return render(request, self.confirm_template, self.confirm_context(obj))

    def post(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        if self.require_confirm and not confirmed(request):
            return self.get(request, **kwargs)
        return super().post(request, **kwargs)
