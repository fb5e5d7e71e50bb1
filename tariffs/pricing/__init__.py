"""The pricing engine: charge rules × a period × quantities → priced lines. Pure Python.

No database, no Django models: callers (the quote endpoint, the portal's "try it" form,
billing) turn rows into the frozen dataclasses below and call :func:`price`. Everything is
``Decimal``; amounts are ``moneyed.Money``.

How a period is priced
----------------------
* **Days.** A period ``[start, end)`` is measured in the property's calendar days: the
  difference of the two *local wall-clock* times, so a DST day (23 or 25 hours) still counts
  as one day. ``start``/``end`` must be aware; they are converted to ``time_zone``.
* **Proration factor.** Quantities that are "per billing period" (tier limits, the included
  allowance, the minimum charge) are scaled by ``f = days(period) / days(billing period)``,
  where the billing period is the full cycle the period belongs to (``billing_period``;
  by default the period itself, i.e. ``f = 1``). Example: "first 100 kWh at 0.20" billed
  for 15 days of a 30-day month gives a first block of 50 kWh. Scaled limits are rounded
  to 3 decimals (ROUND_HALF_UP) so the lines show exact quantities.
* **Standing charges** per day are ``price × days``. Per month: each calendar month touched
  contributes ``days in period within that month / days in that month``; per year likewise
  with 365 or 366. The fraction is shown as the line quantity (unit "month"/"year").
* **Included allowance**: the first ``allowance × f`` units are free (a zero line shows
  them); the rule's prices apply to the units above it, and tiers count from the first
  chargeable unit.
* **Tiered (graduated)**: each block's units at the block's price, one line per block used.
  **Volume**: every unit at the price of the block the (chargeable) quantity reaches.
  A block's ``up_to`` is the cumulative upper limit; the last block has ``up_to=None``.
* **Time-of-use**: interval data (aware start, end, quantity) is cut at every band boundary
  in local wall-clock time (both sides of a repeated hour on a 25-hour day, nothing in the
  missing hour of a 23-hour day); each piece gets its share of the interval's quantity in
  proportion to elapsed real time, and the band of its midpoint. Day kinds: ``holiday`` if
  the local date is in the rule's holidays, else ``weekend`` on Saturday/Sunday, else
  ``weekday``. Without interval data the rule is *not* priced: a diagnostic says so.
* **Minimum charge** (``minimum × f``): if the rule's usage lines sum to less, a top-up
  line makes up the difference.
* **Descriptions** read as people write them ("Standing charge, 1–30 Nov 2026",
  "Electricity, 1–30 Nov 2026: 6,008.2 kWh × 0.2450"; ``pricing.describe``); the exact
  quantity, unit and unit price are the line's own fields, and ``Line.kind`` (standing,
  usage, minimum) says what a line is: never match its words.
* **Rounding** happens once per line: ``amount = round(quantity × unit price)`` to the
  currency's minor unit with the rate list's rounding mode (ROUND_HALF_UP by default).
  The net total is the sum of the rounded lines.
* **VAT** is computed **per rate on the net for that rate, rounded once** (ROUND_HALF_UP,
  whatever the lines' mode; ``pricing.vat``): 10.05 + 20.05 + 30.05 at 8.1 % carry
  60.15 × 8.1 % = 4.872 → 4.87, not 0.81 + 1.62 + 2.43 = 4.86. Each line's VAT is its
  largest-remainder share of its rate's VAT, so a rate's lines add up to its row.
* **Cash rounding** (e.g. CHF 0.05; an organization setting per currency, see
  ``tariffs.models.CashRounding``) rounds the gross total to the **nearest** step
  (57.32 → 57.30, 57.33 → 57.35), independent of the lines' mode, and is its own amount
  after the total: ``net + VAT + cash rounding = total``.
"""

from tariffs.pricing import values
from tariffs.pricing.engine import combine, fmt_number, price
from tariffs.pricing.tou import band_at, day_kind, split_by_band
from tariffs.pricing.values import *  # noqa: F403 (the value types: values.__all__)

__all__ = [
    *values.__all__,
    "fmt_number", "band_at", "combine", "day_kind", "price", "split_by_band",
]
