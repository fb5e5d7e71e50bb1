"""Template helpers for the portal's look.

``pct`` turns a share into the whole percent 0..100 that names a utility class of
``static/css/percent.css`` (``h-pct-42``, ``w-pct-42``, ``fb-pct-42``). Bars, progress
meters and timelines size themselves through those classes instead of ``style=``
attributes, which the Content-Security-Policy (``style-src`` without ``'unsafe-inline'``)
refuses; a whole percent is finer than a pixel on every bar the portal draws.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()


@register.filter
def pct(value: object) -> int:
    """``value`` (a number, possibly None or a string) as a whole percent in 0..100."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return 0
    if not number.is_finite():
        return 0
    return int(min(Decimal(100), max(Decimal(0), number)).to_integral_value())


@register.simple_tag(takes_context=True)
def may(context, url: str, method: str = "POST") -> bool:
    """``{% url 'readings:upload' as u %}{% may u as can_upload %}``: whether the member may
    send ``method`` to that page, by the role check of the view behind it (one source of
    truth: the page offers exactly what the view accepts)."""
    from billspree.core.portal import role_allows_url

    request = context.get("request")
    return role_allows_url(getattr(request, "role", None), str(url), method)


@register.filter
def grouped_ref(value: str) -> str:
    """A payment reference in the groups people type it in (QR: 2 + 5s, RF: 4s)."""
    from billspree.core.payment_refs import grouped_reference

    return grouped_reference(value) if value else ""
