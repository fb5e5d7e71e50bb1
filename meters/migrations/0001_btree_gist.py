from django.contrib.postgres.operations import BtreeGistExtension
from django.db import migrations


class Migration(migrations.Migration):
    """btree_gist lets an exclusion constraint combine ``meter =`` with ``range &&``."""

    dependencies: list = []
    operations = [BtreeGistExtension()]
