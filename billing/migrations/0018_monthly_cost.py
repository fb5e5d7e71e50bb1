"""The cost rollup (``billing.models.costs.MonthlyCost``), kept by the database.

``billing_cost_refresh(bps, starts)`` recomputes the rows of billing points in the local
months the instants ``starts`` fall in (NULL: every month of that billing point) from the
invoices and credit notes themselves, so a trigger never applies a delta twice or misses
one. The triggers call it with what a statement changed (transition tables, one call per
statement: a bill run issuing ten thousand invoices is one call).
"""

import django.db.models.deletion
from django.db import migrations, models

FORWARD = r"""
CREATE FUNCTION billing_cost_refresh(bps bigint[], starts timestamptz[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    p_bp bigint[];
    p_month date[];
BEGIN
    SELECT array_agg(q.bp), array_agg(q.month) INTO p_bp, p_month FROM (
        SELECT DISTINCT u.bp,
               date_trunc('month', u.at AT TIME ZONE pr.time_zone)::date AS month
        FROM unnest(bps, starts) AS u(bp, at)
        JOIN meters_billingpoint b ON b.id = u.bp
        JOIN meters_property pr ON pr.id = b.property_id
    ) q;
    IF p_bp IS NULL THEN
        RETURN;
    END IF;
    DELETE FROM billing_monthlycost c
    USING unnest(p_bp, p_month) AS p(bp, month)
    WHERE c.billing_point_id = p.bp AND (p.month IS NULL OR c.month = p.month);
    INSERT INTO billing_monthlycost (organization_id, billing_point_id, month, meter_type,
                                     currency, amount)
    SELECT i.organization_id, i.billing_point_id, i.month, x.meter_type, i.currency,
           sum(x.amount)
    FROM (
        SELECT DISTINCT i.id, i.organization_id, i.billing_point_id, i.currency, m.month
        FROM unnest(p_bp, p_month) AS p(bp, month)
        JOIN billing_invoice i ON i.billing_point_id = p.bp
        JOIN meters_billingpoint b ON b.id = i.billing_point_id
        JOIN meters_property pr ON pr.id = b.property_id
        CROSS JOIN LATERAL (SELECT date_trunc('month', i.period_start AT TIME ZONE
                                              pr.time_zone)::date AS month) m
        WHERE i.status IN ('issued', 'paid') AND (p.month IS NULL OR m.month = p.month)
    ) i
    CROSS JOIN LATERAL (
        SELECT l.meter_type, l.amount FROM billing_invoiceline l WHERE l.invoice_id = i.id
        UNION ALL
        SELECT coalesce(il.meter_type, ''), c.amount
        FROM billing_creditnote cn
        JOIN billing_creditnoteline c ON c.credit_note_id = cn.id
        LEFT JOIN billing_invoiceline il ON il.id = c.invoice_line_id
        WHERE cn.invoice_id = i.id
    ) x
    GROUP BY 1, 2, 3, 4, 5;
END $$;

CREATE FUNCTION billing_cost_invoice_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM billing_cost_refresh(array_agg(n.billing_point_id), array_agg(n.period_start))
    FROM new_rows n WHERE n.status IN ('issued', 'paid');
    RETURN NULL;
END $$;
CREATE TRIGGER billing_cost_invoice_inserted AFTER INSERT ON billing_invoice
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION billing_cost_invoice_inserted();

-- an invoice counts while issued or paid (issued <-> paid changes no sum: a payment run
-- marking 100,000 invoices paid refreshes nothing); only a draft's period changes
CREATE FUNCTION billing_cost_invoice_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- the months it left and the months it entered (the same unless a draft moved)
    PERFORM billing_cost_refresh(array_agg(c.bp), array_agg(c.at)) FROM (
        SELECT unnest(ARRAY[o.billing_point_id, n.billing_point_id]) AS bp,
               unnest(ARRAY[o.period_start, n.period_start]) AS at
        FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE (o.status IN ('issued', 'paid')) <> (n.status IN ('issued', 'paid'))
           OR (n.status IN ('issued', 'paid')
               AND (o.billing_point_id, o.period_start, o.currency)
                   IS DISTINCT FROM (n.billing_point_id, n.period_start, n.currency))
    ) c;
    RETURN NULL;
END $$;
CREATE TRIGGER billing_cost_invoice_updated AFTER UPDATE ON billing_invoice
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION billing_cost_invoice_updated();

CREATE FUNCTION billing_cost_invoice_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM billing_cost_refresh(array_agg(o.billing_point_id), array_agg(o.period_start))
    FROM old_rows o WHERE o.status IN ('issued', 'paid');
    RETURN NULL;
END $$;
CREATE TRIGGER billing_cost_invoice_deleted AFTER DELETE ON billing_invoice
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION billing_cost_invoice_deleted();

CREATE FUNCTION billing_cost_credit_lines() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM billing_cost_refresh(array_agg(i.billing_point_id), array_agg(i.period_start))
    FROM (SELECT DISTINCT cn.invoice_id FROM new_rows n
          JOIN billing_creditnote cn ON cn.id = n.credit_note_id) c
    JOIN billing_invoice i ON i.id = c.invoice_id;
    RETURN NULL;
END $$;
CREATE TRIGGER billing_cost_credit_lines AFTER INSERT ON billing_creditnoteline
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION billing_cost_credit_lines();

-- a property's zone or a billing point's property decides the local month of every period
CREATE FUNCTION billing_cost_property_zone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM billing_cost_refresh(array_agg(b.id), array_agg(NULL::timestamptz))
    FROM old_rows o JOIN new_rows n ON n.id = o.id
    JOIN meters_billingpoint b ON b.property_id = n.id
    WHERE o.time_zone IS DISTINCT FROM n.time_zone;
    RETURN NULL;
END $$;
CREATE TRIGGER billing_cost_property_zone AFTER UPDATE ON meters_property
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION billing_cost_property_zone();

CREATE FUNCTION billing_cost_point_property() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM billing_cost_refresh(array_agg(n.id), array_agg(NULL::timestamptz))
    FROM old_rows o JOIN new_rows n ON n.id = o.id
    WHERE o.property_id IS DISTINCT FROM n.property_id;
    RETURN NULL;
END $$;
CREATE TRIGGER billing_cost_point_property AFTER UPDATE ON meters_billingpoint
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION billing_cost_point_property();

-- what is there already
SELECT billing_cost_refresh(array_agg(b.id), array_agg(NULL::timestamptz))
FROM meters_billingpoint b
WHERE EXISTS (SELECT 1 FROM billing_invoice i WHERE i.billing_point_id = b.id
              AND i.status IN ('issued', 'paid'));
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS billing_cost_point_property ON meters_billingpoint;
DROP TRIGGER IF EXISTS billing_cost_property_zone ON meters_property;
DROP TRIGGER IF EXISTS billing_cost_credit_lines ON billing_creditnoteline;
DROP TRIGGER IF EXISTS billing_cost_invoice_deleted ON billing_invoice;
DROP TRIGGER IF EXISTS billing_cost_invoice_updated ON billing_invoice;
DROP TRIGGER IF EXISTS billing_cost_invoice_inserted ON billing_invoice;
DROP FUNCTION IF EXISTS billing_cost_point_property();
DROP FUNCTION IF EXISTS billing_cost_property_zone();
DROP FUNCTION IF EXISTS billing_cost_credit_lines();
DROP FUNCTION IF EXISTS billing_cost_invoice_deleted();
DROP FUNCTION IF EXISTS billing_cost_invoice_updated();
DROP FUNCTION IF EXISTS billing_cost_invoice_inserted();
DROP FUNCTION IF EXISTS billing_cost_refresh(bigint[], timestamptz[]);
"""


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0017_invoice_org_period_start'),
        ('core', '0007_organization_payment_details'),
        ('meters', '0005_meter_rated_capacity'),
    ]

    operations = [
        migrations.CreateModel(
            name='MonthlyCost',
            fields=[
                ('pk', models.CompositePrimaryKey('billing_point_id', 'month', 'meter_type', 'currency', blank=True, editable=False, primary_key=True, serialize=False)),
                ('month', models.DateField(help_text='First day of the local month the periods begin in.')),
                ('meter_type', models.CharField(blank=True, max_length=16)),
                ('currency', models.CharField(max_length=3)),
                ('amount', models.DecimalField(decimal_places=4, max_digits=16)),
                ('billing_point', models.ForeignKey(db_index=False, editable=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='meters.billingpoint')),
                ('organization', models.ForeignKey(db_index=False, editable=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='core.organization')),
            ],
            options={
                'ordering': ['billing_point_id', 'month', 'meter_type', 'currency'],
                'indexes': [models.Index(fields=['organization', 'month'], name='monthlycost_org_month')],
            },
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
