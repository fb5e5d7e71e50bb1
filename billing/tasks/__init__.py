"""Celery tasks of billing (autodiscovered as ``billing.tasks``), one module per concern."""

from billing.tasks.runs import *  # noqa: F403
from billing.tasks.statements import *  # noqa: F403
