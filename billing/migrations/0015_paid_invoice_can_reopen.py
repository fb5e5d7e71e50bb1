"""The ledger decides when an issued invoice is paid: its status follows the allocations
of payments to it, so a bounced payment must be able to take a paid invoice back to
issued (with ``paid_at`` cleared). Everything else about an issued invoice stays final."""

from django.db import migrations

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
        OR (OLD.status = 'paid' AND NEW.status NOT IN ('paid', 'void'))
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
        ('billing', '0014_invoice_line_charge'),
    ]

    operations = [
        migrations.RunSQL(GUARD, GUARD_BEFORE),
    ]
