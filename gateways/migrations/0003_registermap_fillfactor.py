"""Room on each page of the register maps for their per-poll health update.

Every poll updates every enabled map's health row (none of those columns is indexed); with
free space left on the page, PostgreSQL writes the new version next to the old one (a HOT
update) instead of adding an entry to each of the table's seven indexes. New and
rewritten pages keep 30 % free; existing pages gain room as they are vacuumed.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("gateways", "0002_history_prune_schedule")]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE gateways_registermap SET (fillfactor = 70)",
            reverse_sql="ALTER TABLE gateways_registermap RESET (fillfactor)",
        ),
    ]
