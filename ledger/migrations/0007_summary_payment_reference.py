# A parent summary gets the payment reference its parent quotes (split over the children's
# invoices on it when paid); summaries created before get theirs here.

from django.db import migrations, models


def backfill(apps, schema_editor):
    from billspree.core.banking import is_qr_iban
    from billspree.core.payment_refs import creditor_reference, qr_reference

    Summary = apps.get_model("ledger", "ParentSummary")
    # the total trigger is deferred: fire it per statement, so no pending trigger event
    # blocks the ALTER TABLE of the constraint below
    schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    for s in Summary.objects.filter(payment_reference="").select_related("organization"):
        if str(s.currency) == "CHF" and is_qr_iban(s.organization.iban):
            ref = qr_reference("9" + str(s.pk).zfill(25))
        else:
            ref = creditor_reference(f"SUM{s.pk}")
        Summary.objects.filter(pk=s.pk).update(payment_reference=ref)
    schema_editor.execute("SET CONSTRAINTS ALL DEFERRED")


class Migration(migrations.Migration):

    dependencies = [
        ("ledger", "0006_bank_imports"),
    ]

    operations = [
        migrations.AddField(
            model_name="parentsummary",
            name="payment_reference",
            field=models.CharField(blank=True, db_default="", default="", max_length=32),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="parentsummary",
            constraint=models.UniqueConstraint(
                condition=models.Q(("payment_reference", ""), _negated=True),
                fields=("organization", "payment_reference"),
                name="summary_unique_payment_reference"),
        ),
    ]
