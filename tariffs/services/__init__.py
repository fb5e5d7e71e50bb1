"""State changes of rate lists, versions, charge rules, holiday calendars, plans, add-ons
and billing-point rate overrides. Keyword-only, transactional, audited; bad input raises
``ValidationError({field: [why]})`` and changes nothing."""

from tariffs.services.cash_rounding import cash_rounding_set
from tariffs.services.catalog import (
    add_on_save,
    billing_point_rate_list_set,
    plan_save,
    plan_variant_save,
    pricing_template_save,
)
from tariffs.services.common import delete
from tariffs.services.rate_lists import (
    charge_rule_create,
    charge_rule_delete,
    charge_rule_update,
    holiday_calendar_save,
    rate_list_create,
    rate_list_delete,
    rate_list_end,
    rate_list_update,
    rate_list_version_create,
    rate_list_version_delete,
)

__all__ = [
    "add_on_save", "billing_point_rate_list_set", "cash_rounding_set",
    "charge_rule_create", "charge_rule_delete",
    "charge_rule_update", "delete", "holiday_calendar_save", "plan_save", "plan_variant_save",
    "pricing_template_save", "rate_list_create", "rate_list_delete", "rate_list_end",
    "rate_list_update", "rate_list_version_create", "rate_list_version_delete",
]
