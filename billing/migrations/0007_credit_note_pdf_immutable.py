"""Credit notes keep their PDF as issued, and are immutable: a trigger refuses any change
to an issued credit note but storing its PDF (once), deleting one, and changing or
deleting its lines. (Lines are inserted with the note, in ``credit_note_create``.)"""

import billing.models.statements
from django.db import migrations, models

SQL = """
CREATE OR REPLACE FUNCTION billing_credit_note_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'credit note % is issued, it cannot be deleted', OLD.number
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF (to_jsonb(NEW) - 'pdf' - 'pdf_generated_at')
            IS DISTINCT FROM (to_jsonb(OLD) - 'pdf' - 'pdf_generated_at')
        OR (OLD.pdf <> '' AND (NEW.pdf IS DISTINCT FROM OLD.pdf
                               OR NEW.pdf_generated_at IS DISTINCT FROM OLD.pdf_generated_at))
    THEN
        RAISE EXCEPTION 'credit note % is issued: only its PDF may be stored, once', OLD.number
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER billing_credit_note_guard BEFORE UPDATE OR DELETE ON billing_creditnote
    FOR EACH ROW EXECUTE FUNCTION billing_credit_note_guard();

CREATE OR REPLACE FUNCTION billing_credit_note_line_guard() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the lines of credit note % cannot change', OLD.credit_note_id
        USING ERRCODE = 'integrity_constraint_violation';
END $$ LANGUAGE plpgsql;

CREATE TRIGGER billing_credit_note_line_guard BEFORE UPDATE OR DELETE
    ON billing_creditnoteline FOR EACH ROW EXECUTE FUNCTION billing_credit_note_line_guard();
"""

REVERSE = """
DROP TRIGGER IF EXISTS billing_credit_note_line_guard ON billing_creditnoteline;
DROP FUNCTION IF EXISTS billing_credit_note_line_guard();
DROP TRIGGER IF EXISTS billing_credit_note_guard ON billing_creditnote;
DROP FUNCTION IF EXISTS billing_credit_note_guard();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0006_batches_runs_statements"),
    ]

    operations = [
        migrations.AddField(
            model_name="creditnote",
            name="pdf",
            field=models.FileField(
                blank=True,
                max_length=300,
                storage=billing.models.statements.statement_storage,
                upload_to="credit-notes/%Y/%m/",
            ),
        ),
        migrations.AddField(
            model_name="creditnote",
            name="pdf_generated_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunSQL(SQL, REVERSE),
    ]
