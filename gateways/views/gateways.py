"""Gateway pages: the connectivity list and its live partial, detail, add/edit, delete, poll now
(and its live status on the gateway page)."""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from typing import Any

from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import ListView

from billspree.core.actor import Actor
from billspree.core.errors import Conflict
from billspree.core.models import Role
from billspree.core.portal import OrganizationPortalMixin
from billspree.core.portal_views import ConfirmView, ServiceFormView
from gateways import forms, selectors, services
from gateways.models import Gateway, Health, PollRun
from gateways.services.polling import PollPending


class GatewayListView(OrganizationPortalMixin, ListView):
    """The connectivity page: a green or red check per gateway, and "Poll now"."""

    model = Gateway
    template_name = "gateways/index.html"
    context_object_name = "gateways"
    paginate_by = 25

    def get_queryset(self):
        qs = Gateway.objects.select_related("property").annotate(
            meter_count=Count("register_maps"),
            failing_meters=Count(
                "register_maps", filter=Q(register_maps__consecutive_failures__gt=0)
            ),
        ).order_by("name")
        if q := self.request.GET.get("q", "").strip():
            qs = qs.filter(
                Q(name__icontains=q) | Q(host__icontains=q) | Q(property__name__icontains=q)
            )
        if health := self.request.GET.get("health", ""):
            return [g for g in qs if g.health() == health]  # health is computed, not stored
        return qs

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx.update(
            rows=[(g, g.health()) for g in ctx["gateways"]],
            q=self.request.GET.get("q", ""),
            health=self.request.GET.get("health", ""),
            health_choices=Health.choices,
            summary=selectors.health_summary(),
            nav_section="gateways",
            can_operate=Role.at_least(self.request.role, Role.OPERATOR),
            can_configure=Role.at_least(self.request.role, Role.MANAGER),
        )
        return ctx

    def get_template_names(self):
        if self.request.headers.get("HX-Request"):
            return ["gateways/_health_table.html"]
        return [self.template_name]


class GatewayDetailView(OrganizationPortalMixin, View):
    model = Gateway

    def get(self, request: HttpRequest, id: str) -> HttpResponse:
        gateway = get_object_or_404(Gateway.objects.select_related("property"), public_id=id)
        maps = gateway.register_maps.select_related("meter", "profile").order_by("device_id")
        ctx = {
            "gateway": gateway,
            "health": gateway.health(),
            "maps": [(m, m.health()) for m in maps],
            "runs": gateway.poll_runs.all()[:10],
            "errors": gateway.errors.select_related("register_map__meter")[:20],
            "nav_section": "gateways",
            "can_operate": Role.at_least(request.role, Role.OPERATOR),
            "can_configure": Role.at_least(request.role, Role.MANAGER),
        }
        ctx["refresh"] = bool(request.headers.get("HX-Request"))  # the heading's check too
        template = "gateways/_detail_live.html" if ctx["refresh"] else None
        return render(request, template or "gateways/detail.html", ctx)


class GatewayFormView(ServiceFormView):
    """Add (no id) or edit (id) a gateway."""

    model = Gateway
    template_name = "gateways/gateway_form.html"

    @cached_property
    def gateway(self) -> Gateway | None:
        id = self.kwargs.get("id")
        return get_object_or_404(Gateway, public_id=id) if id else None

    def make_form(self, data: Any = None) -> forms.GatewayForm:
        if data is None:
            return forms.GatewayForm(instance=self.gateway)
        return forms.GatewayForm(data, instance=Gateway() if self.gateway is None else None)

    def context(self, form: Any, **extra: Any) -> dict[str, Any]:
        return super().context(form, gateway=self.gateway, nav_section="gateways", **extra)

    def save(self, form: Any) -> Gateway:
        if self.gateway is None:
            return services.gateway_create(**self.actor.kwargs(), **form.cleaned_data)
        services.gateway_update(gateway=self.gateway, **self.actor.kwargs(), **form.cleaned_data)
        return self.gateway

    def success_message(self, gateway: Gateway) -> str:
        if self.gateway is None:
            return f"Gateway {gateway.name} added. Now map its meters."
        return f"Gateway {gateway.name} saved."

    def success_url(self, gateway: Gateway) -> str:
        return reverse("gateways:detail", kwargs={"id": gateway.public_id})


class DeleteView(ConfirmView):
    """``gateways/confirm_delete.html``: what is deleted and what follows from it."""

    confirm_template = "gateways/confirm_delete.html"
    what = ""

    def consequence(self, obj: Any) -> str:
        raise NotImplementedError

    def confirm_context(self, obj: Any) -> dict[str, Any]:
        return {"object": obj, "what": self.what, "nav_section": "gateways",
                "consequence": self.consequence(obj)}


class GatewayDeleteView(DeleteView):
    model = Gateway
    what = "gateway"

    def consequence(self, gateway: Gateway) -> str:
        return (f"Its {gateway.register_maps.count()} register maps, poll history and errors "
                "are deleted and its meters are no longer polled. Readings stay.")

    def act(self, gateway: Gateway) -> str:
        services.gateway_delete(gateway=gateway, **self.actor.kwargs())
        return f"Gateway {gateway.name} deleted."

    def success_url(self, gateway: Gateway) -> str:
        return reverse("gateways:index")


class PollNowView(OrganizationPortalMixin, View):
    """POST: poll now. From the gateway page (htmx) it answers the poll's live status,
    which follows the poll until it finishes and then refreshes the page's figures;
    without JavaScript (and from the list) it redirects with a message."""

    model = Gateway
    write_role = Role.OPERATOR

    def post(self, request: HttpRequest, id: str) -> HttpResponse:
        gateway = get_object_or_404(Gateway, public_id=id)
        live = bool(request.headers.get("HX-Request"))
        try:
            run = services.gateway_poll_request(gateway=gateway, **Actor.of(request).kwargs())
        except Conflict as exc:  # disabled, or asked already and waiting for a worker
            if live and isinstance(exc, PollPending):
                return poll_status_response(request, gateway)
            if live:
                return render(request, "gateways/_poll_status.html",
                              {"gateway": gateway, "state": "error", "error": exc.message})
            messages.error(request, exc.message)
        else:
            if live:
                return poll_status_response(request, gateway)
            if run is None:
                messages.success(
                    request, f"Polling {gateway.name} now; results appear here in a few seconds."
                )
            else:
                messages.info(
                    request,
                    f"{gateway.name} was polled moments ago ({run.get_status_display().lower()}"
                    f": {run.summary or 'still running'}); nothing new was queued.",
                )
        if request.POST.get("next") == "index":
            return redirect("gateways:index")
        return redirect("gateways:detail", id=gateway.public_id)


#: a requested poll no worker has started after this long is reported, and no longer followed
WORKER_WAIT = timedelta(seconds=60)


def poll_status_response(request: HttpRequest, gateway: Gateway) -> HttpResponse:
    """The status of the gateway's latest "Poll now": waiting for a worker, running, or
    done (then the response triggers ``gateway-polled``, on which the page reloads its
    live figures: health, last values, recent polls)."""
    gateway.refresh_from_db(fields=["last_manual_slot", "enabled"])
    slot = gateway.last_manual_slot
    run = (PollRun.objects.filter(gateway=gateway, manual=True, slot=slot).first()
           if slot else None)
    if slot is None:
        state = "idle"
    elif run is None:
        waited = timezone.now() - slot
        state = "stuck" if waited > WORKER_WAIT else "waiting"
    elif run.status == PollRun.Status.RUNNING:
        state = "running"
    else:
        state = "done"
    response = render(request, "gateways/_poll_status.html", {
        "gateway": gateway, "run": run, "state": state,
        "follow": state in ("waiting", "running"),
    })
    if state == "done":
        response["HX-Trigger"] = "gateway-polled"
    return response


class PollStatusView(OrganizationPortalMixin, View):
    """The live status fragment of the latest "Poll now" (polled by the gateway page)."""

    model = Gateway

    def get(self, request: HttpRequest, id: str) -> HttpResponse:
        gateway = get_object_or_404(Gateway, public_id=id)
        return poll_status_response(request, gateway)
