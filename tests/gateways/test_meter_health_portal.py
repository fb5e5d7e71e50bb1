"""The gateway page's meter table shows each meter's error count and failures in a row
(what the API reports), next to last success, latency and last error."""

from __future__ import annotations

import re

from gateways import services
from tests.conftest import login_client
from tests.gateways.helpers import make_gateway, map_default_layout, slot

ROW = re.compile(r'<tr class="health-\w+">(.*?)</tr>', re.S)


def _errors_cells(html: str) -> dict[int, str]:
    """Device id → the text of its Errors cell in the meter table."""
    table = html.split('data-testid="meter-table"', 1)[1].split("</table>", 1)[0]
    cells = {}
    for row in ROW.findall(table):
        device = int(re.search(r"<td>#(\d+)</td>", row).group(1))
        cell = re.search(r'data-testid="meter-errors"[^>]*>(.*?)</td>', row, re.S).group(1)
        cells[device] = " ".join(re.sub(r"<[^>]+>", " ", cell).split())
    return cells


def test_meter_table_shows_error_counts_and_failures_in_a_row(in_org_a, sim):
    gateway = make_gateway(sim, offline_after=10)
    maps = map_default_layout(gateway, 3)
    sim.store.exceptions[2] = 0x0B  # device 2 stops answering
    sim.store.exceptions[3] = 0x0B
    outcomes = []
    for n in range(4):
        if n == 2:
            del sim.store.exceptions[3]  # device 3 answers again once...
        if n == 3:
            sim.store.exceptions[3] = 0x0B  # ...and fails again
        # "Poll now": a meter failing 3 polls in a row would rest from scheduled polls
        run = services.gateway_poll(gateway=gateway, manual=True, now=slot(n))
        outcomes.append(run.status)
    assert outcomes == ["partial"] * 4
    for m in maps:
        m.refresh_from_db()
    assert [(m.error_count, m.consecutive_failures) for m in maps] == [(0, 0), (4, 4), (3, 1)]

    client = login_client(in_org_a.viewer, in_org_a.org)
    page = client.get(f"/gateways/{gateway.public_id}/").content.decode()
    assert '<th class="right">Errors</th>' in page
    assert _errors_cells(page) == {
        1: "0 0 failed in a row",
        2: "4 4 failed in a row",
        3: "3 1 failed in a row",
    }
    assert 'title="1 successful read, 3 failed"' in page  # device 3
    # the live partial the page refreshes every 10 s shows the same numbers
    partial = client.get(f"/gateways/{gateway.public_id}/", HTTP_HX_REQUEST="true")
    assert "<html" not in partial.content.decode()
    assert _errors_cells(partial.content.decode()) == _errors_cells(page)
