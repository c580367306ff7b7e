"""Each index on extraction_events serves a query of the API or the dashboard (issue 19.4).

The query plan of each filtered list, built by the one filter path (ExtractionEvent.objects
.filtered) and ordered as the API orders it, names the index meant for it: a partial index on a
rare value is only worth its place if the planner takes it. docs/benchmarks.md lists the same.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Count

from extraction.models import ExtractionEvent


def plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            return "\n".join(str(row[-1]) for row in cursor.fetchall())
        # An empty table is cheaper to scan than any index: ask which index would be used.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def newest(params: dict):
    return ExtractionEvent.objects.filtered(params).order_by("-timestamp", "-id")[:50]


@pytest.mark.parametrize(
    ("params", "index"),
    [
        ({}, "ee_time"),
        # With few rows PostgreSQL may sort the agent's rows from its stats index instead: both
        # lead with agent_name, so the list never scans the table.
        ({"agent": "codex"}, ("ee_agent_time", "ee_agent_stats")),
        ({"rule": "python_traceback"}, "ee_rule_time"),
        ({"risk": "high"}, "ee_high_risk_time"),
        ({"severity": "critical"}, "ee_critical_time"),
        ({"type": "prompt"}, "ee_prompt_time"),
        ({"review_status": "confirmed"}, "ee_confirmed_time"),
        ({"review_status": "rejected"}, "ee_rejected_time"),
        ({"review_status": "false_positive"}, "ee_false_positive_time"),
    ],
)
def test_each_filtered_list_reads_its_index(db, params, index):
    text = plan(newest(params))
    assert any(name in text for name in ([index] if isinstance(index, str) else index)), text


def test_the_review_queue_reads_its_partial_index(db):
    queue = ExtractionEvent.objects.high_risk_pending().order_by("timestamp", "id")[:50]
    assert "ee_review_queue" in plan(queue)


def test_agent_stats_are_counted_from_the_index_alone(db):
    counts = (
        ExtractionEvent.objects.filter(agent_name="codex")
        .order_by()
        .values_list("event_type", "risk_level", "rule", "review_status")
        .annotate(n=Count("id"))
    )
    text = plan(counts)
    if connection.vendor == "sqlite":
        assert "COVERING INDEX ee_agent_stats" in text
    else:
        # With the few rows other tests leave, PostgreSQL may take the agent's rows from
        # ee_agent_time and sort them (the costs are a hair apart); both lead with agent_name,
        # so the stats never scan the table.
        assert "ee_agent_stats" in text or "ee_agent_time" in text, text
        assert "Seq Scan" not in text, text


def test_rule_precision_is_counted_from_the_index_alone(db):
    counts = ExtractionEvent.objects.order_by().values_list("rule", "review_status")
    text = plan(counts.annotate(n=Count("id")))
    assert "ee_rule_time" in text
    if connection.vendor == "sqlite":
        assert "COVERING INDEX ee_rule_time" in text


def test_a_session_resumes_after_a_seq_on_the_unique_index(db):
    text = plan(ExtractionEvent.objects.filter(session_id=1, seq__gt=10).order_by("seq")[:50])
    # SQLite names the unique constraint's index itself (sqlite_autoindex_…).
    assert "ee_session_seq_unique" in text or "INDEX sqlite_autoindex_extraction_events" in text
