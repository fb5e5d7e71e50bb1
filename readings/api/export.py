"""``GET /api/v1/readings/export.csv`` and ``GET /api/v1/measurements/export.csv``: raw data
as streamed CSV (thin: parse the query, resolve the devices in this organization, hand the
selector's stream to the response).

The portal's download forms (readings and measurements pages) point here: the API takes a
member's session as well as an API key, in the same organization scope.

Query parameters (all optional; without devices, every meter of the organization):

* ``meter``: a meter id or number; repeat it (``?meter=A&meter=B``) or separate with
  commas. ``property``: a property id (its meters; for measurements its sensors too).
  ``sensor`` (measurements): a sensor id or number, like ``meter``.
* ``from`` / ``to``: a local date (``2026-03-29``: the day in each device's property's
  time zone; ``to`` is *inclusive*, the way people say "1–31 March"), a local time
  without offset (``2026-03-29T02:30``), or an instant (``2026-03-29T00:30:00Z``); times
  are from inclusive, to exclusive.
* ``quantity`` (measurements): one quantity, e.g. ``active_power``.

A device of another organization is unknown here: 400 naming the parameter, the same
answer as a number that does not exist.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db.models import Model
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request

from billspree.core.api_base import OrganizationAPIView
from billspree.core.limits import date_in_range, date_range_message
from meters.models import Meter, Property, Sensor
from readings.exports import Bound, readings_csv
from readings.measurements.exports import measurements_csv
from readings.measurements.models import Measurement, Quantity
from readings.models import Reading

#: At most this many devices named in one query.
DEVICES_LIMIT = 1000


class CSVRenderer(BaseRenderer):
    """Lets a client ask for ``Accept: text/csv``; the body is the view's stream (errors are
    rendered as JSON by the first renderer)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return JSONRenderer().render(data)


def csv_response(chunks, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _values(request: Request, name: str) -> list[str]:
    """``?name=a&name=b,c`` → ``["a", "b", "c"]`` (blank entries dropped)."""
    found = [v.strip() for raw in request.query_params.getlist(name) for v in raw.split(",")]
    found = [v for v in found if v]
    if len(found) > DEVICES_LIMIT:
        raise ValidationError({name: [f"At most {DEVICES_LIMIT} values."]})
    return found


def devices(request: Request, name: str, model: type[Model]) -> list | None:
    """The meters (or sensors) named in ``?<name>=`` by id or number, in this organization;
    None when the parameter is absent."""
    raw = _values(request, name)
    if not raw:
        return None
    ids, serials = [], []
    for value in raw:
        try:
            ids.append(uuid.UUID(value))
        except ValueError:
            serials.append(value)
    found = list(model.objects.filter(public_id__in=ids)) + list(
        model.objects.filter(serial_number__in=serials))
    known = {str(d.public_id) for d in found} | {d.serial_number for d in found}
    missing = [v for v in raw if v not in known and _uuid_text(v) not in known]
    if missing:
        raise ValidationError({name: [
            f"No {name} {', '.join(repr(m[:64]) for m in missing[:5])} in this organization."]})
    return found


def _uuid_text(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return value


def property_param(request: Request, *named: list | None) -> Property | None:
    """The property of ``?property=`` (its id), refused next to named devices: an export
    is of the devices named or of a property's, never an unsaid mix of the two."""
    raw = (request.query_params.get("property") or "").strip()
    if not raw:
        return None
    if any(n is not None for n in named):
        raise ValidationError({"property": ["Give devices (meter/sensor) or a property, "
                                            "not both."]})
    try:
        found = Property.objects.filter(public_id=uuid.UUID(raw)).first()
    except ValueError:
        found = None
    if found is None:
        raise ValidationError({"property": [f"No property {raw[:64]!r} in this organization."]})
    return found


def bound_param(request: Request, name: str, *, end: bool) -> Bound | None:
    """``from``/``to``: a local date (``to`` inclusive: the next local midnight), a local
    time, or an instant with an offset."""
    raw = (request.query_params.get(name) or "").strip()
    if not raw:
        return None
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            if not date_in_range(day):
                raise ValidationError({name: [f"{raw} is out of range. {date_range_message()}"]})
            at = datetime.combine(day + timedelta(days=1) if end else day, time())  # noqa: DTZ001
            return Bound(at, local=True)
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise ValidationError({name: [
            f"Not an ISO date or time: {raw[:40]!r} (e.g. 2026-03-01, 2026-03-01T06:00 or "
            "2026-03-01T05:00:00Z)."]}) from None
    if not date_in_range(parsed):
        raise ValidationError({name: [f"{raw[:40]} is out of range. {date_range_message()}"]})
    return Bound(parsed, local=parsed.tzinfo is None)


def format_param(request: Request) -> None:
    """``?format=``, DRF's renderer override (the schema lists ``csv`` and ``json``): the body
    is CSV either way, but a blank or unknown value is refused like any other bad parameter
    rather than silently ignored."""
    if "format" in request.query_params and request.query_params["format"] not in (
            "csv", "json"):
        raise ValidationError({"format": [
            f"Unknown format {request.query_params['format'][:40]!r}: use csv (or leave it out)."]})


def period(request: Request) -> tuple[Bound | None, Bound | None]:
    start, end = bound_param(request, "from", end=False), bound_param(request, "to", end=True)
    if start and end and start.local == end.local and end.at <= start.at:
        raise ValidationError({"to": [f"The period ends ({request.query_params['to']}) before "
                                      f"it begins ({request.query_params['from']})."]})
    return start, end


_PERIOD_PARAMETERS = [
    OpenApiParameter("from", str, description="Start: a local date (YYYY-MM-DD, midnight in "
                     "each device's property's time zone), a local time (YYYY-MM-DDTHH:MM) or "
                     "an instant with offset; inclusive"),
    OpenApiParameter("to", str, description="End: a local date (inclusive: the whole day), a "
                     "local time or an instant (exclusive)"),
]
_CSV = {(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV (UTF-8, header "
                                           "row, CRLF), streamed.")}


class ReadingsExportView(OrganizationAPIView):
    """Raw readings as CSV: ``meter,meter_id,unit,read_at,value,source,quality,estimated,
    anomaly``; ``read_at`` ISO 8601 in the meter's property's time zone with its offset,
    ``value`` the register value as stored (4 decimals), ``estimated``/``anomaly``
    ``true``/``false``. Meter by meter (by number), then by time; streamed, any size."""

    queryset = Reading.objects.all()
    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(
        operation_id="readings_export_csv",
        parameters=[
            OpenApiParameter("meter", str, many=True, explode=True, description="Meter id or "
                             "number; repeat or comma-separate for several (default: all)"),
            OpenApiParameter("property", OpenApiTypes.UUID, description="Property id: its "
                             "meters (every meter ever assigned there)"),
            *_PERIOD_PARAMETERS,
        ],
        responses=_CSV,
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        format_param(request)
        meters = devices(request, "meter", Meter)
        prop = property_param(request, meters)
        start, end = period(request)
        chunks = readings_csv(meters=meters, property_id=prop.pk if prop else None,
                              start=start, end=end)
        return csv_response(chunks, "readings.csv")


class MeasurementsExportView(OrganizationAPIView):
    """Raw measurements as CSV: ``device_kind,device,device_id,quantity,unit,measured_at,
    value,source``; ``measured_at`` ISO 8601 in the device's property's time zone with its
    offset, ``value`` as stored (in the quantity's unit). Series by series (device number,
    quantity), then by time; streamed, any size."""

    queryset = Measurement.objects.all()
    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(
        operation_id="measurements_export_csv",
        parameters=[
            OpenApiParameter("meter", str, many=True, explode=True, description="Meter id or "
                             "number; repeat or comma-separate for several"),
            OpenApiParameter("sensor", str, many=True, explode=True, description="Sensor id or "
                             "number, as meter"),
            OpenApiParameter("property", OpenApiTypes.UUID, description="Property id: its "
                             "sensors and the meters ever assigned there"),
            OpenApiParameter("quantity", str, enum=[q.value for q in Quantity]),
            *_PERIOD_PARAMETERS,
        ],
        responses=_CSV,
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        format_param(request)
        meters = devices(request, "meter", Meter)
        sensors = devices(request, "sensor", Sensor)
        prop = property_param(request, meters, sensors)
        quantity = (request.query_params.get("quantity") or "").strip() or None
        if quantity is not None and quantity not in Quantity.values:
            raise ValidationError({"quantity": [
                f"Unknown quantity {quantity[:40]!r}: use any of {', '.join(Quantity.values)}."]})
        start, end = period(request)
        chunks = measurements_csv(meters=meters, sensors=sensors,
                                  property_id=prop.pk if prop else None, quantity=quantity,
                                  start=start, end=end)
        return csv_response(chunks, "measurements.csv")
