"""Dunning: the reminder ladder, what a day's run would send, and the run itself.

The run is anchored to due dates, not to the last run (Kill Bill #2297): on day ``today``
an open invoice is ``today - due_on`` days late, and the level to send is the *highest*
level whose ``days_overdue`` that reaches. A level already sent for the invoice (or a
later one) is never sent again, and a lower level is never sent after a higher one: an
invoice first seen 31 days late gets the final notice only. A paid invoice is not open, so
a payment stops the ladder at once (nothing is taken back: the fee stays on the ledger
until credited). Invoices in an open dispute and accounts whose reminders are paused
("payment promised until …", ``dunning_paused_until >= today``) are left out.

Concurrency: each notice is written in its own transaction under the account's row lock
(the lock every ledger posting takes), after re-reading the invoice's notices, open amount
and dispute; UNIQUE(invoice, level) backs that up. Two runs at the same moment send each
notice once, and a payment booked meanwhile is seen.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import DecimalField, Exists, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Concat
from django.utils import timezone

from billing.models import Invoice
from billspree.core.errors import Conflict
from billspree.core.scoping import require_organization
from billspree.core.services import audit_record
from ledger.models import (
    Account,
    Allocation,
    DunningDelivery,
    DunningDeliveryKind,
    DunningDeliveryStatus,
    DunningLevel,
    DunningNotice,
    DunningRun,
    EmailStatus,
    EntryKind,
    InvoiceDispute,
    LedgerEntry,
)
from ledger.models.dunning import LETTER_PLACEHOLDERS
from ledger.services.posting import Posting, post
from tariffs.pricing.vat import minor_unit

log = logging.getLogger(__name__)
ZERO = Decimal("0")
PLACEHOLDER = re.compile(r"\{(\w*)\}")
LEVEL_FIELDS = ("position", "name", "days_overdue", "fee_amount", "fee_tax_rate",
                "letter_title", "letter_text", "send_email", "disconnection_pending", "active")


# --- the ladder ------------------------------------------------------------------------------

def fee_tax(gross: Decimal, rate: Decimal, currency: str) -> Decimal:
    """The VAT inside a gross fee, rounded once to the currency's minor unit:
    20.00 at 8.1 % → 20.00 − 20.00 / 1.081 = 1.4986… → 1.50."""
    if not gross or not rate:
        return ZERO
    tax = gross - gross / (1 + rate / Decimal(100))
    return tax.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def _check_level(data: dict, others: list[DunningLevel]) -> None:
    errors: dict[str, list[str]] = {}
    if not str(data.get("name", "")).strip():
        errors["name"] = ["Give the level a name (e.g. Reminder, Final notice)."]
    if data["position"] < 1:
        errors["position"] = ["Positions start at 1."]
    if data["days_overdue"] < 1:
        errors["days_overdue"] = ["A reminder goes out at least 1 day after the due date."]
    if data["fee_amount"] is None or data["fee_amount"] < 0:
        errors["fee_amount"] = ["The fee cannot be negative (0 = no fee)."]
    elif data["fee_amount"] != data["fee_amount"].quantize(Decimal("0.01")):
        errors["fee_amount"] = ["The fee has at most 2 decimals."]
    if data["fee_tax_rate"] is None or not ZERO <= data["fee_tax_rate"] <= 100:
        errors["fee_tax_rate"] = ["The fee's VAT rate is a percentage between 0 and 100."]
    for name in ("letter_title", "letter_text"):
        unknown = sorted({m for m in PLACEHOLDER.findall(str(data.get(name, "")))
                          if m not in LETTER_PLACEHOLDERS})
        if unknown:
            errors[name] = [
                f"Unknown placeholder {', '.join('{' + u + '}' for u in unknown)}; use "
                + ", ".join("{" + p + "}" for p in LETTER_PLACEHOLDERS) + "."]
    if not str(data.get("letter_text", "")).strip():
        errors.setdefault("letter_text", []).append("The letter needs a text.")
    for other in others:
        if other.position == data["position"]:
            errors.setdefault("position", []).append(
                f"Position {other.position} is taken by “{other.name}”.")
        if other.days_overdue == data["days_overdue"]:
            errors.setdefault("days_overdue", []).append(
                f"“{other.name}” already goes out {other.days_overdue} days after the due date.")
        elif (other.position < data["position"]) != (other.days_overdue < data["days_overdue"]) \
                and other.position != data["position"]:
            errors.setdefault("days_overdue", []).append(
                f"Levels follow each other: “{other.name}” (position {other.position}) goes "
                f"out after {other.days_overdue} days, so position {data['position']} "
                f"must be {'later' if other.position < data['position'] else 'earlier'}.")
    if errors:
        raise ValidationError(errors)


def _level_data(level: DunningLevel | None, given: dict) -> dict:
    data = {name: getattr(level, name) for name in LEVEL_FIELDS} if level else {
        "fee_amount": ZERO, "fee_tax_rate": ZERO, "send_email": True,
        "disconnection_pending": False, "active": True,
        "letter_title": DunningLevel._meta.get_field("letter_title").default,
        "letter_text": DunningLevel._meta.get_field("letter_text").default}
    data.update({k: v for k, v in given.items() if k in LEVEL_FIELDS and v is not None})
    missing = [n for n in ("position", "name", "days_overdue") if data.get(n) in (None, "")]
    if missing:
        raise ValidationError({n: ["This field is required."] for n in missing})
    data["name"] = str(data["name"]).strip()
    return data


@transaction.atomic
def dunning_level_create(*, actor=None, api_key=None, **fields) -> DunningLevel:
    require_organization()
    ladder = list(DunningLevel.objects.select_for_update())
    data = _level_data(None, fields)
    _check_level(data, ladder)
    level = DunningLevel.objects.create(**data)
    audit_record(action="dunning_level.create", actor=actor, api_key=api_key,
                 target=f"dunning level {level.name}", detail=_audit_detail(level))
    return level


@transaction.atomic
def dunning_level_update(*, level: DunningLevel, actor=None, api_key=None,
                         **fields) -> DunningLevel:
    ladder = list(DunningLevel.objects.select_for_update())
    current = next((lv for lv in ladder if lv.pk == level.pk), None)
    if current is None:
        raise Conflict("This level was deleted meanwhile.")
    data = _level_data(current, fields)
    _check_level(data, [lv for lv in ladder if lv.pk != level.pk])
    for name, value in data.items():
        setattr(current, name, value)
    current.save()
    audit_record(action="dunning_level.update", actor=actor, api_key=api_key,
                 target=f"dunning level {current.name}", detail=_audit_detail(current))
    return current


@transaction.atomic
def dunning_level_delete(*, level: DunningLevel, actor=None, api_key=None) -> None:
    """Delete a level nobody received yet; one that was sent is kept for the history
    (deactivate it instead)."""
    if DunningNotice.objects.filter(level=level).exists():
        raise Conflict(f"“{level.name}” was already sent; deactivate it instead of deleting "
                       "it, so the notices keep their level.")
    audit_record(action="dunning_level.delete", actor=actor, api_key=api_key,
                 target=f"dunning level {level.name}", detail=_audit_detail(level))
    level.delete()


def _audit_detail(level: DunningLevel) -> dict:
    return {"position": level.position, "name": level.name, "days_overdue": level.days_overdue,
            "fee_amount": str(level.fee_amount), "fee_tax_rate": str(level.fee_tax_rate),
            "disconnection_pending": level.disconnection_pending, "active": level.active}


# --- what is due ------------------------------------------------------------------------------

@dataclass
class DunningDue:
    """One reminder a run on ``today`` sends."""

    invoice: Invoice
    account: Account
    level: DunningLevel
    amount_due: Decimal
    days_overdue: int
    due_on: date

    @property
    def fee(self) -> Decimal:
        return self.level.fee_amount

    @property
    def fee_tax(self) -> Decimal:
        return fee_tax(self.level.fee_amount, self.level.fee_tax_rate, str(self.account.currency))


def _paid_subquery():
    return Coalesce(
        Subquery(Allocation.objects.filter(debit_id=OuterRef("pk")).order_by()
                 .values("debit_id").annotate(s=Sum("amount")).values("s")),
        Value(ZERO), output_field=DecimalField(max_digits=16, decimal_places=4))


def _open_dispute(invoice_ref: str = "invoice_id"):
    return Exists(InvoiceDispute.objects.filter(invoice_id=OuterRef(invoice_ref),
                                                resolved_at__isnull=True))


def _candidates(today: date, levels: list[DunningLevel], invoice_ids=None):
    """Invoice entries open and late enough for the first level, on accounts not paused,
    not disputed (one query)."""
    first = min(lv.days_overdue for lv in levels)
    qs = (LedgerEntry.objects
          .filter(kind=EntryKind.INVOICE, invoice__isnull=False,
                  due_on__lte=today - timedelta(days=first))
          .exclude(invoice__status="void")
          .filter(Q(account__dunning_paused_until__isnull=True)
                  | Q(account__dunning_paused_until__lt=today))
          .annotate(paid=_paid_subquery(), disputed=_open_dispute())
          .filter(amount__gt=F("paid"), disputed=False)
          .select_related("invoice__tenant", "account__tenant")
          .order_by("due_on", "pk"))
    if invoice_ids is not None:
        qs = qs.filter(invoice_id__in=invoice_ids)
    return qs


def _sent_days(invoice_ids) -> dict[int, int]:
    """The latest ladder step (days) already sent per invoice."""
    out: dict[int, int] = {}
    for inv, days in (DunningNotice.objects.filter(invoice_id__in=invoice_ids)
                      .values_list("invoice_id", "level__days_overdue")):
        out[inv] = max(out.get(inv, -1), days)
    return out


def _due_level(levels: list[DunningLevel], late: int) -> DunningLevel | None:
    reached = [lv for lv in levels if lv.days_overdue <= late]
    return max(reached, key=lambda lv: lv.days_overdue) if reached else None


def dunning_preview(today: date, *, invoice_ids=None) -> list[DunningDue]:
    """What a run on ``today`` would send (reads only; three queries for the organization)."""
    levels = list(DunningLevel.objects.filter(active=True))
    if not levels:
        return []
    entries = list(_candidates(today, levels, invoice_ids))
    sent = _sent_days([e.invoice_id for e in entries])
    out = []
    for e in entries:
        late = (today - e.due_on).days
        level = _due_level(levels, late)
        if level is None or sent.get(e.invoice_id, -1) >= level.days_overdue:
            continue
        e.invoice.tenant = e.account.tenant
        out.append(DunningDue(invoice=e.invoice, account=e.account, level=level,
                              amount_due=e.amount - e.paid, days_overdue=late, due_on=e.due_on))
    return out


# --- the run ----------------------------------------------------------------------------------

@dataclass
class DunningResult:
    today: date
    sent: list[DunningNotice] = field(default_factory=list)
    #: invoices found due but sent meanwhile by another run, or paid/disputed meanwhile
    skipped: int = 0
    failed: list[str] = field(default_factory=list)


def dunning_run(*, today: date, actor=None, api_key=None, run=None) -> DunningResult:
    """Send every reminder due on ``today``; idempotent (a second run sends nothing).

    With ``run`` (a recorded :class:`~ledger.models.DunningRun`), its notices point at it and
    its counts grow after each invoice, so its page shows the progress while it sends."""
    require_organization()
    result = DunningResult(today=today)
    rows = dunning_preview(today)
    if run is not None:
        DunningRun.objects.filter(pk=run.pk).update(planned=len(rows))
    for due in rows:
        try:
            notice = _send_one(due, today, actor=actor, api_key=api_key, run=run)
        except Exception as exc:  # one broken letter must not stop the others
            log.exception("dunning notice for invoice %s failed", due.invoice.pk)
            result.failed.append(f"{due.invoice.number}: {exc}")
            _count(run, "failed", error=result.failed[-1])
            continue
        if notice is None:
            result.skipped += 1
            _count(run, "skipped")
            continue
        _deliver(notice, due, actor=actor)
        result.sent.append(notice)
        _count(run, "sent")
    if result.sent or result.failed:
        audit_record(action="dunning.run", actor=actor, api_key=api_key,
                     target=f"dunning run {today}",
                     detail={"date": today.isoformat(), "sent": len(result.sent),
                             "failed": result.failed[:20]})
    return result


def _count(run, name: str, error: str = "") -> None:
    """One more ``name`` on the recorded run (one UPDATE, seen by its progress page)."""
    if run is None:
        return
    changes = {name: F(name) + 1}
    if error:
        changes["error"] = Concat(F("error"), Value(error[:500] + "\n"))
    DunningRun.objects.filter(pk=run.pk).update(**changes)


@transaction.atomic
def _send_one(due: DunningDue, today: date, *, actor=None, api_key=None,
              run=None) -> DunningNotice | None:
    """The notice of ``due``, written under the account's lock after re-checking; None when
    another run sent it or the invoice stopped being due meanwhile."""
    Account.objects.select_for_update().filter(pk=due.account.pk).first()
    still = dunning_preview(today, invoice_ids=[due.invoice.pk])
    if not still or still[0].level.pk != due.level.pk:
        return None
    due = still[0]
    user = actor if actor is not None and getattr(actor, "is_authenticated", False) \
        and getattr(actor, "api_key", None) is None else None
    try:
        with transaction.atomic():
            notice = DunningNotice.objects.create(
                invoice=due.invoice, level=due.level, account=due.account, run_on=today,
                amount_due=due.amount_due, days_overdue=due.days_overdue,
                recipient=(due.account.tenant.email or "") if due.level.send_email else "",
                sent_by=user, run=run)
    except IntegrityError:  # the other run won the race
        return None
    level, account = due.level, due.account
    if level.fee_amount > 0:
        org = require_organization()
        posted = post([Posting(
            account_id=account.pk, kind=EntryKind.FEE, amount=level.fee_amount,
            booked_on=today, due_on=today + timedelta(days=org.payment_terms_days),
            description=f"{level.name} fee, invoice {due.invoice.number}",
            tax_rate=level.fee_tax_rate, tax_amount=due.fee_tax,
            idempotency_key=f"dunning-fee:{due.invoice.pk}:{level.pk}",
            created_by_id=user.pk if user else None)])
        notice.fee_entry_id = posted[0].entry_id
    if level.disconnection_pending and account.disconnection_pending_since is None:
        Account.objects.filter(pk=account.pk).update(disconnection_pending_since=timezone.now())
        account.disconnection_pending_since = timezone.now()
        audit_record(action="account.disconnection_pending", actor=actor, api_key=api_key,
                     target=f"account of {account.tenant.name}",
                     detail={"invoice": due.invoice.number, "level": level.name})
    pdf = letter_pdf(due, notice)
    notice.letter.save(f"reminder-{due.invoice.number or due.invoice.pk}-{level.position}.pdf",
                       ContentFile(pdf), save=False)
    notice.save()
    audit_record(action="dunning.notice", actor=actor, api_key=api_key,
                 target=f"invoice {due.invoice.number}",
                 detail={"invoice": due.invoice.number, "account": str(account.public_id),
                         "level": level.name, "amount_due": str(due.amount_due),
                         "days_overdue": due.days_overdue, "fee": str(level.fee_amount)})
    return notice


def letter_context(due: DunningDue) -> dict[str, str]:
    from django.utils import formats

    org = require_organization()
    return {
        "tenant": due.account.tenant.name, "invoice": due.invoice.number or "",
        "amount_due": formats.number_format(due.amount_due, 2, force_grouping=True),
        "currency": str(due.account.currency),
        "due_on": formats.date_format(due.due_on, "DATE_FORMAT"),
        "days_overdue": str(due.days_overdue),
        "fee": formats.number_format(due.level.fee_amount, 2, force_grouping=True),
        "organization": org.name, "level": due.level.name,
    }


def fill_placeholders(text: str, values: dict[str, str]) -> str:
    """``{name}`` replaced by its value (no format-string attribute access)."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def letter_pdf(due: DunningDue, notice: DunningNotice | None = None) -> bytes:
    from django.template.loader import render_to_string

    from billing.selectors.statements import logo_data_uri
    from billing.statements.render import html_to_pdf

    org = require_organization()
    values = letter_context(due)
    html = render_to_string("ledger/dunning/letter.html", {
        "s": {"organization": org, "logo_data_uri": logo_data_uri(org)},
        "due": due, "notice": notice, "today": notice.run_on if notice else None,
        "title": fill_placeholders(due.level.letter_title, values),
        "text": fill_placeholders(due.level.letter_text, values),
        "print_and_post": not due.account.tenant.email,
    })
    return html_to_pdf(html)


def _deliver(notice: DunningNotice, due: DunningDue, *, actor=None) -> None:
    """Email the letter (after its transaction committed); no address → print and post.
    An email attempt is recorded as the notice's first delivery."""
    if not due.level.send_email:
        status, error = EmailStatus.NOT_EMAILED, ""
    elif not due.account.tenant.email:
        status, error = EmailStatus.PRINT, ""
    else:
        error = send_letter(notice, due, to=due.account.tenant.email)
        status = EmailStatus.FAILED if error else EmailStatus.SENT
        DunningDelivery.objects.create(
            notice=notice, kind=DunningDeliveryKind.RUN, recipient=due.account.tenant.email,
            status=DunningDeliveryStatus.FAILED if error else DunningDeliveryStatus.SENT,
            error=error,
            requested_by=acting_user(actor), sent_at=None if error else timezone.now())
    DunningNotice.objects.filter(pk=notice.pk).update(email_status=status, email_error=error)
    notice.email_status, notice.email_error = status, error


def send_letter(notice: DunningNotice, due: DunningDue, *, to: str) -> str:
    """Email the notice's letter to ``to``; the error text, or "" when it went out."""
    from billspree.core.mail import send_document_mail

    values = letter_context(due)
    try:
        with notice.letter.open("rb") as fh:
            pdf = fh.read()
        send_document_mail(
            to=to, subject=fill_placeholders(due.level.letter_title, values),
            body=fill_placeholders(due.level.letter_text, values),
            filename=f"reminder-{due.invoice.number}.pdf", content=pdf)
    except Exception as exc:  # the notice stands; the manager sees the failure
        log.exception("reminder email for notice %s failed", notice.pk)
        return str(exc)[:500] or exc.__class__.__name__
    return ""


def notice_due(notice: DunningNotice) -> DunningDue:
    """The notice as it went out (amount, lateness, level), to fill its letter's text again."""
    return DunningDue(invoice=notice.invoice, account=notice.account, level=notice.level,
                      amount_due=notice.amount_due, days_overdue=notice.days_overdue,
                      due_on=notice.run_on - timedelta(days=notice.days_overdue))


def acting_user(actor):
    return actor if actor is not None and getattr(actor, "is_authenticated", False) \
        and getattr(actor, "api_key", None) is None else None


# --- disputes ---------------------------------------------------------------------------------

@transaction.atomic
def dispute_open(*, invoice: Invoice, reason: str, actor=None, api_key=None) -> InvoiceDispute:
    """The tenant contests the invoice: no reminder goes out until it is resolved."""
    if not (reason or "").strip():
        raise ValidationError({"reason": ["Say what the tenant disputes."]})
    if invoice.status not in ("issued", "paid"):
        raise ValidationError({"invoice": ["Only an issued invoice can be disputed."]})
    Invoice.objects.select_for_update().filter(pk=invoice.pk).first()
    if InvoiceDispute.objects.filter(invoice=invoice, resolved_at__isnull=True).exists():
        raise Conflict(f"Invoice {invoice.number} is already in dispute.")
    user = actor if actor is not None and getattr(actor, "api_key", None) is None and \
        getattr(actor, "is_authenticated", False) else None
    dispute = InvoiceDispute.objects.create(invoice=invoice, reason=reason.strip()[:500],
                                            opened_by=user)
    audit_record(action="invoice.dispute_open", actor=actor, api_key=api_key,
                 target=f"invoice {invoice.number}", detail={"reason": dispute.reason})
    return dispute


@transaction.atomic
def dispute_resolve(*, dispute: InvoiceDispute, resolution: str, actor=None,
                    api_key=None) -> InvoiceDispute:
    """Close the dispute; reminders resume from where the invoice stands (the ladder is
    anchored to its due date, so the highest due level goes out next)."""
    if not (resolution or "").strip():
        raise ValidationError({"resolution": ["Say how the dispute was settled."]})
    d = InvoiceDispute.objects.select_for_update().get(pk=dispute.pk)
    if d.resolved_at is not None:
        raise Conflict("This dispute is resolved already.")
    d.resolution = resolution.strip()[:500]
    d.resolved_at = timezone.now()
    d.resolved_by = actor if actor is not None and getattr(actor, "api_key", None) is None and \
        getattr(actor, "is_authenticated", False) else None
    d.save(update_fields=["resolution", "resolved_at", "resolved_by"])
    audit_record(action="invoice.dispute_resolve", actor=actor, api_key=api_key,
                 target=f"invoice {d.invoice.number}", detail={"resolution": d.resolution})
    return d
