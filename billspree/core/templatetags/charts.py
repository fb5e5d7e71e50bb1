"""``{% chart the_chart %}``: the portal's one chart component (see ``billspree.core.charts``).

Renders ``templates/partials/chart.html``: a ``<figure data-chart>`` with the values as a
table and as a ``json_script`` block that ``static/js/chart.js`` draws. The script, its
library and the stylesheet are linked with the first chart of a response only.
"""

from __future__ import annotations

from typing import Any

from django import template

from billspree.core.charts import Chart

register = template.Library()

_ASSETS_FLAG = "_billspree_chart_assets"


@register.inclusion_tag("partials/chart.html", takes_context=True)
def chart(context: template.Context, chart: Chart, caption: str = "") -> dict[str, Any]:
    request = context.get("request")
    first = request is None or not getattr(request, _ASSETS_FLAG, False)
    if request is not None:
        setattr(request, _ASSETS_FLAG, True)
    return {
        "chart": chart,
        "data": chart.data(),
        "rows": chart.rows(),
        "caption": caption or chart.title,
        "data_id": f"{chart.id}-data",
        "assets": first,
    }
