"""Configuration safety: device ids 1–247 (a check constraint), host names without scheme or
port, relay values that fit their coil or register (validators).

Device id 0 is Modbus broadcast: meters never answer it, so no working register map can
hold it. Should one exist anyway, the migration stops and names it rather than changing it.
"""

import django.core.validators
from django.db import migrations, models

import gateways.validators

U16 = "A holding register holds a value from 0 to 65535 (unsigned 16-bit)."


def refuse_out_of_range_device_ids(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT g.name, r.device_id FROM gateways_registermap r "
            "JOIN gateways_gateway g ON g.id = r.gateway_id "
            "WHERE r.device_id NOT BETWEEN 1 AND 247 ORDER BY g.name, r.device_id"
        )
        bad = cursor.fetchall()
    if bad:
        listed = ", ".join(f"{name} #{device_id}" for name, device_id in bad[:20])
        raise RuntimeError(
            f"{len(bad)} register map(s) have a device id outside 1–247 ({listed}); "
            "set each to the meter's real device id, then migrate again."
        )


class Migration(migrations.Migration):
    dependencies = [("gateways", "0005_registermap_relay_read_at")]

    operations = [
        migrations.AlterField(
            model_name="gateway",
            name="host",
            field=models.CharField(
                help_text="Host name or IP address only, without scheme or port (the port has "
                "its own field), e.g. 10.0.0.5 or gw-basement.example.net.",
                max_length=255,
                validators=[gateways.validators.validate_host],
            ),
        ),
        migrations.AlterField(
            model_name="profile",
            name="relay_off_value",
            field=models.PositiveIntegerField(
                default=0,
                help_text="Value written to switch the supply off (coil: 0 = OFF).",
                validators=[
                    django.core.validators.MinValueValidator(0, U16),
                    django.core.validators.MaxValueValidator(65535, U16),
                ],
            ),
        ),
        migrations.AlterField(
            model_name="profile",
            name="relay_on_value",
            field=models.PositiveIntegerField(
                default=1,
                help_text="Value written to switch the supply on (coil: 1 = ON).",
                validators=[
                    django.core.validators.MinValueValidator(0, U16),
                    django.core.validators.MaxValueValidator(65535, U16),
                ],
            ),
        ),
        migrations.AlterField(
            model_name="registermap",
            name="device_id",
            field=models.PositiveSmallIntegerField(
                help_text="Modbus device (unit / slave) id of the meter on the bus, 1–247 "
                "(0 is broadcast: meters do not answer it).",
                validators=[
                    django.core.validators.MinValueValidator(1),
                    django.core.validators.MaxValueValidator(247),
                ],
            ),
        ),
        migrations.RunPython(refuse_out_of_range_device_ids, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="registermap",
            constraint=models.CheckConstraint(
                condition=models.Q(("device_id__gte", 1), ("device_id__lte", 247)),
                name="register_map_device_id_range",
                violation_error_message="The device id must be between 1 and 247.",
            ),
        ),
    ]
