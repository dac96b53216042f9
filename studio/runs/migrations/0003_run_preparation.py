# Launch reserves the whole run at once and a task makes the cells' jobs in chunks: the part of the
# reservation not yet handed to a job, and whether the run is still preparing.

from decimal import Decimal

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("runs", "0002_run_control_and_limiter"),
    ]

    operations = [
        migrations.AddField(
            model_name="productionrun",
            name="preparing",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="productionrun",
            name="reserved_cost",
            field=models.DecimalField(decimal_places=6, default=Decimal("0"), max_digits=16),
        ),
        migrations.AddConstraint(
            model_name="productionrun",
            constraint=models.CheckConstraint(
                condition=models.Q(("reserved_cost__gte", 0)),
                name="run_reserved_non_negative",
                violation_error_code="run_reserved_negative",
            ),
        ),
    ]
