"""Statements of building charges: one row per property and period, rendered in the
background, stored like invoice statements."""

from __future__ import annotations

import logging
from datetime import date

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.text import slugify

from billing.models import (
    BuildingStatement,
    StatementStatus,
)
from billing.services.statements import store_pdf
from billspree.core.queue import enqueue_on_commit
from billspree.core.services import audit_record
from meters.models import Property

log = logging.getLogger(__name__)


def _check_building_period(period_start: date, period_end: date) -> None:
    if period_end <= period_start:
        raise ValidationError({"period_end": ["The end must be after the start."]})
    if (period_end - period_start).days > 366:
        raise ValidationError({"period_end": ["A statement covers at most one year."]})


def building_statement_request(*, property: Property, period_start: date, period_end: date,
                               actor=None, api_key=None) -> BuildingStatement:
    """Ask for the statement of building charges of ``property`` over local dates
    [period_start, period_end): one row per property and period (asking again re-renders
    it), generated in the background."""
    _check_building_period(period_start, period_end)
    statement, _ = BuildingStatement.objects.get_or_create(
        property=property, period_start=period_start, period_end=period_end)
    BuildingStatement.objects.filter(pk=statement.pk).update(status=StatementStatus.PENDING,
                                                             error="")
    audit_record(action="building_statement.request", actor=actor, api_key=api_key,
                 target=str(statement.public_id),
                 detail={"property": property.name, "start": str(period_start),
                         "end": str(period_end)})
    enqueue_on_commit("billing.tasks.statements.building_statement_generate_task",
                      statement.organization_id, statement.pk)
    statement.refresh_from_db()
    return statement


def building_statement_render(*, statement: BuildingStatement) -> bytes:
    from billing.selectors.building_statements import building_statement_data
    from billing.statements.render import building_statement_html, html_to_pdf

    data = building_statement_data(property=statement.property,
                                   period_start=statement.period_start,
                                   period_end=statement.period_end)
    return html_to_pdf(building_statement_html(data))


def building_statement_generate(*, statement: BuildingStatement) -> BuildingStatement:
    """Render and store a statement of building charges (``ready``, or ``failed`` with the
    error; running it again replaces the file)."""
    name = (f"buildings/{statement.organization.public_id}/{statement.period_start:%Y}/"
            f"{slugify(statement.property.name)}-{statement.period_start:%Y%m%d}-"
            f"{statement.period_end:%Y%m%d}.pdf")
    try:
        pdf = building_statement_render(statement=statement)
        stored = store_pdf(old_name=statement.file.name, name=name, pdf=pdf)
    except Exception as exc:
        log.exception("building statement %s failed", statement.pk)
        BuildingStatement.objects.filter(pk=statement.pk).update(
            status=StatementStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000])
    else:
        BuildingStatement.objects.filter(pk=statement.pk).update(
            status=StatementStatus.READY, file=stored, size=len(pdf), error="",
            generated_at=timezone.now())
    statement.refresh_from_db()
    return statement
