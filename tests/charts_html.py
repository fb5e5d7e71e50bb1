"""Reading the charts of a rendered page (``{% chart %}``) in tests, without a browser."""

from __future__ import annotations

import json
import re
from html import unescape


def page_charts(html: bytes | str) -> dict[str, dict]:
    """{chart id: the JSON the chart script draws} of every ``<figure data-chart>``."""
    text = html.decode() if isinstance(html, bytes) else html
    out = {}
    for data_id in re.findall(r'<figure class="chart" id="[^"]+" data-chart="([^"]+)"', text):
        block = re.search(
            rf'<script id="{re.escape(data_id)}" type="application/json">(.*?)</script>',
            text, re.S)
        assert block, f"no data block {data_id}"
        data = json.loads(unescape(block.group(1)))
        out[data["id"]] = data
    return out


def points(chart: dict, series: int = 0) -> dict[str, str]:
    """{period label: "12 kWh" (or "" for no value)} of one series."""
    return dict(zip(chart["labels"], chart["series"][series]["text"], strict=True))
