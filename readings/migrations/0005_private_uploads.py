"""Readings uploads and their error reports move to the private ``uploads`` storage.

Files stored by earlier releases (MEDIA_ROOT, the sender's own file name) are moved there
under random names, so the uploads of before keep their download and error report.
"""

import billspree.core.files
import readings.models
from django.db import migrations, models


def move_files(apps, schema_editor):
    from billspree.core.files import move_field_files

    Upload = apps.get_model("readings", "Upload")
    move_field_files(Upload.objects.all(), "file", "readings/uploads", extensions=(".csv", ".txt"))
    move_field_files(Upload.objects.all(), "error_report", "readings/reports", extensions=(".csv",))


class Migration(migrations.Migration):

    dependencies = [
        ('readings', '0004_upload_impacts'),
    ]

    operations = [
        migrations.AlterField(
            model_name='upload',
            name='error_report',
            field=models.FileField(blank=True, max_length=200, storage=billspree.core.files.uploads_storage, upload_to=readings.models.error_report_path),
        ),
        migrations.AlterField(
            model_name='upload',
            name='file',
            field=models.FileField(blank=True, max_length=200, storage=billspree.core.files.uploads_storage, upload_to=readings.models.upload_file_path),
        ),
        migrations.RunPython(move_files, migrations.RunPython.noop, elidable=True),
    ]
