"""The billing point page shows what the apps above meters know about it (panels)."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils import timezone

from billspree.core.scoping import organization_context
from readings.models import Source
from readings.parsing import RowIn
from readings.services import reading_ingest
from tenants.services.occupancy import occupancy_create
from tests.conftest import login_client
from tests.tenants.factories import make_billing_point, make_meter, make_property, make_tenant


def test_billing_point_page_shows_occupant_latest_reading_and_rates(world_a, world_b):
    with organization_context(world_a.org):
        bp = make_billing_point(make_property("Panel House"), name="Shop 7")
        start = datetime(2025, 1, 1, tzinfo=ZoneInfo("Europe/Berlin"))
        meter = make_meter(bp, start, serial="PANEL-1", initial="100")
        occupancy_create(tenant=make_tenant("Bakery Brot AG"), billing_point=bp, move_in=start)
        read_at = timezone.now() - timedelta(hours=2)
        reading_ingest(rows=[RowIn(1, meter.serial_number, read_at, "123.5")], source=Source.API)
    html = login_client(world_a.viewer, world_a.org).get(f"/billing-points/{bp.public_id}/")
    text = html.content.decode()
    assert html.status_code == 200
    assert 'data-testid="billing-point-panels"' in text
    assert "Bakery Brot AG" in text and "occupied" in text
    assert f"{Decimal('123.5')} kWh" in text
    assert "Billed on its plan" in text
    assert "Register a move" not in text  # a viewer sees no write actions
