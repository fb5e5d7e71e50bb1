"""The EM24 built-in profile reads kWh (+) TOT at 0x0034 (it read kWh (+) L2 at 0x0042).

Every organization's read-only copy of the built-in EM24 profile is corrected in place,
and each meter mapped to it gets a pending *register switch*: its next poll reads both
registers and closes the meter's assignment with the L2 counter's value and reopens it
with the total counter's, at the same instant, like a register replacement, so the jump
from one counter to the other is never billed (``gateways.services.register_switch``).
The values are frozen here: the profile definitions in code may change again later.
"""

from decimal import Decimal

from django.db import migrations, models

EM24 = "carlo-gavazzi-em24"
OLD = {
    "function_code": 3,
    "address": 0x0042,
    "data_type": "i32",
    "word_order": "little",
    "scale": "0.1",
}
NEW_ADDRESS = 0x0034
REASON = (
    "Built-in profile Carlo Gavazzi EM24 corrected: it read kWh (+) L2 at 0x0042 (one "
    "phase); it reads kWh (+) TOT at 0x0034 (EM24-DIN Communication Protocol, section 2.3)."
)


def em24_total_register(apps, schema_editor) -> int:
    """Correct the EM24 copies and mark their meters for a register switch; returns the
    number of meters marked. Idempotent: a corrected copy no longer matches."""
    ProfileValue = apps.get_model("gateways", "ProfileValue")
    RegisterMap = apps.get_model("gateways", "RegisterMap")
    values = ProfileValue._base_manager.filter(
        profile__builtin=EM24,
        is_reading=True,
        function_code=OLD["function_code"],
        address=OLD["address"],
        data_type=OLD["data_type"],
        word_order=OLD["word_order"],
        scale=Decimal(OLD["scale"]),
    )
    profile_ids = list(values.values_list("profile_id", flat=True))
    if not profile_ids:
        return 0
    marked = RegisterMap._base_manager.filter(
        profile_id__in=profile_ids, register_switch__isnull=True
    ).update(register_switch={**OLD, "reason": REASON})
    values.update(address=NEW_ADDRESS, label="kWh (+) total")
    return marked


class Migration(migrations.Migration):

    dependencies = [
        ('gateways', '0007_poll_run_running_index'),
    ]

    operations = [
        migrations.AddField(
            model_name='registermap',
            name='register_switch',
            field=models.JSONField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(em24_total_register, migrations.RunPython.noop),
    ]
