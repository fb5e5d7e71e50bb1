"""Billing models, one module per concern; everything is importable from here."""

from billing.models.adjustments import *  # noqa: F403
from billing.models.costs import *  # noqa: F403
from billing.models.invoices import *  # noqa: F403
from billing.models.invoices import AMOUNT, DEFAULT_PREFIXES, TstzRange  # noqa: F401
from billing.models.runs import *  # noqa: F403
from billing.models.statements import *  # noqa: F403
from billing.models.statements import statement_storage  # noqa: F401
