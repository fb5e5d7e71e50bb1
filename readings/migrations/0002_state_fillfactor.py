"""Leave room in each page of the per-meter state table for HOT updates.

Every ingestion updates the state row of each meter it touches (10,000 meters every 15
minutes); with free space in the page PostgreSQL updates in place (no index churn).
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("readings", "0001_initial")]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE readings_meterreadingstate SET (fillfactor = 70);",
            "ALTER TABLE readings_meterreadingstate RESET (fillfactor);",
        )
    ]
