"""Shared pieces of the tariffs portal: pagination, the service-backed form view, the
confirm-then-delete view."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View

from billspree.core.errors import Conflict
from billspree.core.portal import OrganizationPortalMixin
from tariffs import forms, services

PAGE_SIZE = 25


def _page(request: HttpRequest, queryset) -> dict[str, Any]:
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    return {"page_obj": page, "is_paginated": page.has_other_pages(), "rows": page.object_list}


class ServiceFormView(OrganizationPortalMixin, View):
    """GET shows a form, POST calls :meth:`save`; service errors land on the fields."""

    template_name = "tariffs/form.html"
    model: Any = None
    title = ""
    submit = "Save"
    tab = ""

    def make_form(self, data=None) -> Any:
        raise NotImplementedError

    def save(self, form) -> Any:
        raise NotImplementedError

    def success_url(self, obj) -> str:
        raise NotImplementedError

    def context(self, form, **extra) -> dict[str, Any]:
        return {"form": form, "title": self.title, "submit": self.submit, "tab": self.tab,
                "back": self.request.GET.get("back", ""), **extra}

    def get(self, request: HttpRequest, **kwargs) -> HttpResponse:
        return render(request, self.template_name, self.context(self.make_form()))

    def post(self, request: HttpRequest, **kwargs) -> HttpResponse:
        form = self.make_form(request.POST)
        if form.is_valid():
            try:
                obj = self.save(form)
            except ValidationError as exc:
                forms.add_service_errors(form, exc)
            except Conflict as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"Saved {obj}.")
                return redirect(self.success_url(obj))
        return render(request, self.template_name, self.context(form), status=400)


class DeleteView(OrganizationPortalMixin, View):
    """Confirmation page, then delete through the service (refused while in use)."""

    model: Any = None
    tab = ""
    back = ""

    def get(self, request: HttpRequest, id: str) -> HttpResponse:
        obj = get_object_or_404(self.model, public_id=id)
        return render(request, "tariffs/confirm_delete.html",
                      {"object": obj, "tab": self.tab, "cancel": reverse(self.back)})

    def post(self, request: HttpRequest, id: str) -> HttpResponse:
        obj = get_object_or_404(self.model, public_id=id)
        try:
            services.delete(instance=obj, actor=request.user)
            messages.success(request, f"Deleted {obj}.")
        except Conflict as exc:
            messages.error(request, exc.message)
        return redirect(self.back)
