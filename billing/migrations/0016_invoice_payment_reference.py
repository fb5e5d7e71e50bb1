"""Invoices carry their payment reference (QRR or ISO 11649 "RF…"), set in the UPDATE
that numbers them, unique in the organization, and as final as the number: the
immutability trigger (with 0015's paid → issued) now refuses to change it on an issued, paid or void invoice (a draft
row may still change it, which is how issuing sets it)."""

from django.db import migrations, models

GUARD = """
CREATE OR REPLACE FUNCTION billing_invoice_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' THEN
            RAISE EXCEPTION 'invoice % is %, it cannot be deleted', OLD.number, OLD.status
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status <> 'draft' AND (
        NEW.number IS DISTINCT FROM OLD.number
        OR NEW.tenant_id IS DISTINCT FROM OLD.tenant_id
        OR NEW.billing_point_id IS DISTINCT FROM OLD.billing_point_id
        OR NEW.period_start IS DISTINCT FROM OLD.period_start
        OR NEW.period_end IS DISTINCT FROM OLD.period_end
        OR NEW.currency IS DISTINCT FROM OLD.currency
        OR NEW.net_total IS DISTINCT FROM OLD.net_total
        OR NEW.tax_total IS DISTINCT FROM OLD.tax_total
        OR NEW.total IS DISTINCT FROM OLD.total
        OR NEW.cash_rounding IS DISTINCT FROM OLD.cash_rounding
        OR NEW.payment_reference IS DISTINCT FROM OLD.payment_reference
        OR NEW.issued_at IS DISTINCT FROM OLD.issued_at
        OR NEW.organization_id IS DISTINCT FROM OLD.organization_id
        OR (OLD.status = 'void' AND NEW.status <> 'void')
        OR (OLD.status = 'paid' AND NEW.status NOT IN ('paid', 'issued', 'void'))
        OR (NEW.status = 'draft')
    ) THEN
        RAISE EXCEPTION 'invoice % is %: only its status may change', OLD.number, OLD.status
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

"""

#: The trigger as migration 0009 left it.
GUARD_BEFORE = """
CREATE OR REPLACE FUNCTION billing_invoice_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' THEN
            RAISE EXCEPTION 'invoice % is %, it cannot be deleted', OLD.number, OLD.status
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status <> 'draft' AND (
        NEW.number IS DISTINCT FROM OLD.number
        OR NEW.tenant_id IS DISTINCT FROM OLD.tenant_id
        OR NEW.billing_point_id IS DISTINCT FROM OLD.billing_point_id
        OR NEW.period_start IS DISTINCT FROM OLD.period_start
        OR NEW.period_end IS DISTINCT FROM OLD.period_end
        OR NEW.currency IS DISTINCT FROM OLD.currency
        OR NEW.net_total IS DISTINCT FROM OLD.net_total
        OR NEW.tax_total IS DISTINCT FROM OLD.tax_total
        OR NEW.total IS DISTINCT FROM OLD.total
        OR NEW.cash_rounding IS DISTINCT FROM OLD.cash_rounding
        OR NEW.issued_at IS DISTINCT FROM OLD.issued_at
        OR NEW.organization_id IS DISTINCT FROM OLD.organization_id
        OR (OLD.status = 'void' AND NEW.status <> 'void')
        OR (OLD.status = 'paid' AND NEW.status NOT IN ('paid', 'issued', 'void'))
        OR (NEW.status = 'draft')
    ) THEN
        RAISE EXCEPTION 'invoice % is %: only its status may change', OLD.number, OLD.status
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

"""


class Migration(migrations.Migration):

    dependencies = [
        ("billing", "0015_paid_invoice_can_reopen"),
    ]

    operations = [
        migrations.AddField(
            model_name="invoice",
            name="payment_reference",
            field=models.CharField(blank=True, db_default="", default="", max_length=32),
        ),
        migrations.AddConstraint(
            model_name="invoice",
            constraint=models.UniqueConstraint(
                condition=models.Q(("payment_reference", ""), _negated=True),
                fields=("organization", "payment_reference"),
                name="invoice_unique_payment_reference",
            ),
        ),
        migrations.RunSQL(GUARD, GUARD_BEFORE),
    ]
