"""Organization logos move to the private ``uploads`` storage (served by scoped views).

Logos stored by earlier releases (MEDIA_ROOT/logos/, original names) are moved there under
random names, so they keep showing in both portals and on statements.
"""

import billspree.core.files
import billspree.core.models
from django.db import migrations, models


def move_logos(apps, schema_editor):
    from billspree.core.files import move_field_files
    from billspree.core.models import LOGO_EXTENSIONS

    Organization = apps.get_model("core", "Organization")
    move_field_files(Organization.objects.all(), "logo", "logos", extensions=LOGO_EXTENSIONS)


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0003_api_key_expires_at'),
    ]

    operations = [
        migrations.AlterField(
            model_name='organization',
            name='logo',
            field=models.ImageField(blank=True, max_length=200, storage=billspree.core.files.uploads_storage, upload_to=billspree.core.models.logo_path),
        ),
        migrations.RunPython(move_logos, migrations.RunPython.noop, elidable=True),
    ]
