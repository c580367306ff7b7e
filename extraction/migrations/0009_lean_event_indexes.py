"""Lean indexes on extraction_events (issue 19.4): twelve full indexes become four, and partial
ones on rare values.

Every index costs each insert of the tap's writer. Kept whole: the time, agent, agent-stats
and rule indexes; the rest serve rare values (high risk, the review queue, critical, prompts,
reviewed events) and are partial, so an ordinary new event touches none of them.
ee_session_line goes (no query reads it any more) and ee_rule_review becomes ee_rule_time (the
?rule= filter). docs/benchmarks.md ("Index audit") names the request behind each index.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("extraction", "0008_representative_without_constraint"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="extractionevent",
            index=models.Index(fields=["rule", "-timestamp", "review_status"], name="ee_rule_time"),
        ),
        migrations.RemoveIndex(
            model_name="extractionevent",
            name="ee_type_time",
        ),
        migrations.RemoveIndex(
            model_name="extractionevent",
            name="ee_risk_review",
        ),
        migrations.RemoveIndex(
            model_name="extractionevent",
            name="ee_session_line",
        ),
        migrations.RemoveIndex(
            model_name="extractionevent",
            name="ee_rule_review",
        ),
        migrations.RemoveIndex(
            model_name="extractionevent",
            name="ee_risk_time",
        ),
        migrations.RemoveIndex(
            model_name="extractionevent",
            name="ee_review_time",
        ),
        migrations.RemoveIndex(
            model_name="extractionevent",
            name="ee_severity_time",
        ),
        migrations.AddIndex(
            model_name="extractionevent",
            index=models.Index(
                condition=models.Q(("risk_level", "high")),
                fields=["-timestamp", "-id"],
                name="ee_high_risk_time",
            ),
        ),
        migrations.AddIndex(
            model_name="extractionevent",
            index=models.Index(
                condition=models.Q(("review_status", "pending"), ("risk_level", "high")),
                fields=["timestamp", "id"],
                name="ee_review_queue",
            ),
        ),
        migrations.AddIndex(
            model_name="extractionevent",
            index=models.Index(
                condition=models.Q(("severity", "critical")),
                fields=["-timestamp", "-id"],
                name="ee_critical_time",
            ),
        ),
        migrations.AddIndex(
            model_name="extractionevent",
            index=models.Index(
                condition=models.Q(("event_type", "prompt")),
                fields=["-timestamp", "-id"],
                name="ee_prompt_time",
            ),
        ),
        migrations.AddIndex(
            model_name="extractionevent",
            index=models.Index(
                condition=models.Q(("review_status", "confirmed")),
                fields=["-timestamp", "-id"],
                name="ee_confirmed_time",
            ),
        ),
        migrations.AddIndex(
            model_name="extractionevent",
            index=models.Index(
                condition=models.Q(("review_status", "rejected")),
                fields=["-timestamp", "-id"],
                name="ee_rejected_time",
            ),
        ),
        migrations.AddIndex(
            model_name="extractionevent",
            index=models.Index(
                condition=models.Q(("review_status", "false_positive")),
                fields=["-timestamp", "-id"],
                name="ee_false_positive_time",
            ),
        ),
    ]
