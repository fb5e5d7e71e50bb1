"""Schedule ``gateways.tasks.gateways_history_prune`` daily (beat uses the database scheduler).

Per-gateway poll schedules are not created here: ``services.gateway_create/update`` keep
one PeriodicTask per gateway.
"""

from django.db import migrations

NAME = "gateways-history-prune"


def schedule(apps, schema_editor):
    crontab_model = apps.get_model("django_celery_beat", "CrontabSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = crontab_model.objects.get_or_create(
        minute="40", hour="3", day_of_week="*", day_of_month="*", month_of_year="*",
        timezone="UTC",
    )
    task_model.objects.update_or_create(
        name=NAME,
        defaults={"task": "gateways.tasks.gateways_history_prune", "crontab": crontab},
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("gateways", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
