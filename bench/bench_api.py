"""API latency at scale: p50/p95 of the list and stats endpoints over a 1M-event database.

    .venv/bin/python bench/bench_api.py [--events 1000000] [--data-dir /tmp/streamtap-bench]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/streamtap_bench .venv/bin/python bench/bench_api.py

Generates the data once (generate_demo_data) into its own STREAMTAP_DATA_DIR and reuses it on
later runs. Requests go through the whole Django stack in process (test Client, token auth),
so the figures are server time without the network. Ends with the query plan of each endpoint's
main query, to check it uses an index rather than scanning the table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_LIST_MS = 50
TARGET_STATS_MS = 200
# Indexes to try before they are in the models: measured with --proposed-indexes. (Those
# proposed earlier are in extraction/models.py since issue 19.4, some as partial indexes.)
PROPOSED_INDEXES: dict[str, str] = {}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--sessions", type=int, default=None)
    parser.add_argument("--data-dir", default="/tmp/streamtap-bench")
    parser.add_argument("--iterations", type=int, default=60)
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--no-plans", action="store_true")
    parser.add_argument(
        "--proposed-indexes",
        action="store_true",
        help="first create the indexes proposed for extraction/models.py (PROPOSED_INDEXES)",
    )
    parser.add_argument("--only", default="", help="measure only requests whose label has this")
    return parser.parse_args()


def setup_django(data_dir: str) -> None:
    os.environ["STREAMTAP_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "streamtap_site.settings")
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,localhost"
    sys.path.insert(0, str(ROOT))
    from streamtap_site.data_dir import ensure_data_dir

    ensure_data_dir()  # settings only read: the data dir and its secret key are made here
    import django

    django.setup()


def ensure_data(args) -> None:
    from django.core.management import call_command

    from extraction.models import ExtractionEvent

    call_command("migrate", verbosity=0)
    count = ExtractionEvent.objects.count()
    if count and (args.regenerate or count != args.events):
        from django.conf import settings
        from django.db import connection

        if connection.vendor == "sqlite":
            connection.close()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{settings.SQLITE_PATH}{suffix}").unlink(missing_ok=True)
            call_command("migrate", verbosity=0)
        else:  # DATABASE_URL: PostgreSQL, emptied in place
            call_command("flush", interactive=False, verbosity=0)
        count = 0
    if not count:
        print(f"generating {args.events:,} events …", flush=True)
        started = time.monotonic()
        extra = ["--sessions", str(args.sessions)] if args.sessions else []
        call_command("generate_demo_data", "--events", str(args.events), *extra)
        print(f"generated in {time.monotonic() - started:.1f} s", flush=True)


def token_client():
    from django.contrib.auth import get_user_model
    from django.test import Client
    from rest_framework.authtoken.models import Token

    user, _ = get_user_model().objects.get_or_create(username="bench")
    token, _ = Token.objects.get_or_create(user=user)
    return Client(HTTP_AUTHORIZATION=f"Token {token.key}")


def cases() -> list[tuple[str, str, str]]:
    """(kind, label, url) for every measured request."""
    from urllib.parse import urlencode

    from django.db.models import Sum
    from django.utils import timezone

    from sessions.models import ProcessSession

    by_events = (
        ProcessSession.objects.values_list("agent_name")
        .annotate(n=Sum("total_extraction_events"))
        .order_by("-n")
    )
    agents = [agent for agent, _n in by_events]
    top_agent, small_agent = agents[0], agents[-1]
    session = ProcessSession.objects.order_by("-total_extraction_events").first()
    from django.db.models import Count

    from extraction.models import ExtractionEvent

    # The rarest rule with events: a filter the time index alone would walk far for.
    rare_rule = (
        ExtractionEvent.objects.values_list("rule")
        .annotate(n=Count("id"))
        .order_by("n")
        .values_list("rule", flat=True)
        .first()
    )
    day_ago = (timezone.now() - timezone.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    events = "/api/query/extractions"
    return [
        ("list", "extractions (no filter)", events),
        ("list", "extractions ?agent", f"{events}?agent={top_agent}"),
        ("list", "extractions ?type=warning", f"{events}?type=warning"),
        ("list", "extractions ?risk=high", f"{events}?risk=high"),
        ("list", "extractions ?severity=critical", f"{events}?severity=critical"),
        ("list", "extractions ?review_status=pending", f"{events}?review_status=pending"),
        ("list", "extractions ?review_status=false_positive", f"{events}?review_status=false_positive"),
        ("list", "extractions ?risk=high&review_status=pending", f"{events}?risk=high&review_status=pending"),
        ("list", "extractions ?type=prompt", f"{events}?type=prompt"),
        ("list", "extractions ?review_status=confirmed", f"{events}?review_status=confirmed"),
        ("list", f"extractions ?rule={rare_rule} (rarest)", f"{events}?rule={rare_rule}"),
        ("list", "extractions ?session", f"{events}?session={session.session_id}"),
        ("list", "extractions ?since (24 h)", f"{events}?since={day_ago}"),
        ("list", "extractions ?agent&type=error", f"{events}?agent={top_agent}&type=error"),
        ("list", "extractions ?q=deadlock (3% of events)", f"{events}?q=deadlock"),
        ("list", "extractions ?q=error (40%)", f"{events}?q=error"),
        ("list", "extractions ?q=DROP TABLE users_42; (59 events)", f"{events}?{urlencode({'q': 'DROP TABLE users_42;'})}"),
        ("list", "extractions ?q=kubectl (none)", f"{events}?q=kubectl"),
        ("list", "extractions ?q=rm (2 chars: no index)", f"{events}?q=rm"),
        ("list", "extractions ?agent&q=deadlock", f"{events}?agent={top_agent}&q=deadlock"),
        ("list", "extractions ?q=deadlock&limit=500", f"{events}?q=deadlock&limit=500"),
        ("list", "extractions ?limit=500", f"{events}?limit=500"),
        ("list", "extractions ?risk=high&limit=500", f"{events}?risk=high&limit=500"),
        ("list", "sessions (no filter)", "/api/query/sessions"),
        ("list", "sessions ?agent", f"/api/query/sessions?agent={top_agent}"),
        ("list", "sessions ?status=failed", "/api/query/sessions?status=failed"),
        ("list", "sessions ?days=7", "/api/query/sessions?days=7"),
        ("list", "session detail", f"/api/sessions/{session.session_id}/"),
        ("list", "session events", f"/api/sessions/{session.session_id}/events/"),
        ("list", "session events ?after_seq", f"/api/sessions/{session.session_id}/events/?after_seq=200"),
        ("list", "code blocks ?language=python", "/api/code-blocks/?language=python"),
        ("list", "code blocks ?q=users WHERE", f"/api/code-blocks/?{urlencode({'q': 'users WHERE'})}"),
        ("list", "code blocks ?q=kubectl (none)", "/api/code-blocks/?q=kubectl"),
        ("stats", f"stats {top_agent} (busiest)", f"/api/query/stats/agent/{top_agent}"),
        ("stats", f"stats {small_agent} (quietest)", f"/api/query/stats/agent/{small_agent}"),
    ]  # fmt: skip


def measure(client, url: str, iterations: int) -> tuple[float, float]:
    for _ in range(3):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
    times = []
    for _ in range(iterations):
        started = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))]


def print_plans(client, measured: list[tuple[str, str, str]]) -> None:
    """EXPLAIN QUERY PLAN for the statements each request runs against the big tables."""
    from django.db import connection

    captured: list[tuple[str, tuple]] = []

    def capture(execute, sql, params, many, context):
        captured.append((sql, params))
        return execute(sql, params, many, context)

    print("\n## Query plans\n")
    for _kind, label, url in measured:
        captured.clear()
        with connection.execute_wrapper(capture):
            client.get(url)
        print(f"### {label}  `{url}`")
        for sql, params in captured:
            if "extraction_events" not in sql and "process_sessions" not in sql:
                continue
            if "authtoken" in sql or sql.lstrip().upper().startswith(("UPDATE", "INSERT")):
                continue
            if sql.lstrip().upper().startswith(("DELETE", "WITH", "EXPLAIN")):
                continue  # a search's catch-up or its estimate, not a read
            explain = "EXPLAIN QUERY PLAN" if connection.vendor == "sqlite" else "EXPLAIN"
            with connection.cursor() as cursor:
                cursor.execute(f"{explain} {sql}", params)
                plan = [row[-1] for row in cursor.fetchall()]
            print(f"- `{sql[:110]}…`")
            for step in plan:
                print(f"    {step}")
        print()


def main() -> None:
    args = parse_args()
    setup_django(args.data_dir)
    ensure_data(args)
    from django.db import connection

    from extraction.models import ExtractionEvent

    if args.proposed_indexes:
        with connection.cursor() as cursor:
            for name, target in PROPOSED_INDEXES.items():
                cursor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")
        print(f"with proposed indexes: {', '.join(PROPOSED_INDEXES)}")
    client = token_client()
    measured = [case for case in cases() if args.only in case[1]]
    try:  # the process set up as the server's is before it serves (streamtap_site/asgi.py)
        from streamtap_site.heap import settle_heap
    except ImportError:  # an older tree
        pass
    else:
        settle_heap()
    vendor = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[connection.vendor]
    print(f"\n## API latency, {ExtractionEvent.objects.count():,} events, {vendor}\n")
    print("| request | p50 ms | p95 ms | target p95 |")
    print("|---|---:|---:|---|")
    misses = []
    for kind, label, url in measured:
        p50, p95 = measure(client, url, args.iterations)
        target = TARGET_STATS_MS if kind == "stats" else TARGET_LIST_MS
        ok = p95 <= target
        if not ok:
            misses.append(label)
        print(f"| {label} | {p50:.1f} | {p95:.1f} | ≤ {target} {'✓' if ok else '✗'} |", flush=True)
    if misses:
        print(f"\nover target: {', '.join(misses)}")
    if not args.no_plans:
        print_plans(client, measured)


if __name__ == "__main__":
    main()
