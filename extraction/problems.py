"""What the Problems pages show about error groups: the filtered list and occurrence sparklines."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from .models import ErrorGroup, ExtractionEvent

SPARK_BUCKETS = 24
SPARK_WIDTH, SPARK_HEIGHT = 96, 20
DEFAULT_WINDOW = timedelta(hours=24)
ORDERINGS = {"last_seen": ("-last_seen", "-id"), "count": ("-count", "-id")}


def groups(params: dict):
    order = params.get("order") or "last_seen"
    return (
        ErrorGroup.objects.filtered(params).prefetch_related("sessions").order_by(*ORDERINGS[order])
    )


def spark_window(params: dict) -> tuple[datetime, datetime]:
    """The time the sparklines cover: the filter's, else the last 24 hours."""
    end = params.get("until") or timezone.now()
    start = params.get("since") or end - DEFAULT_WINDOW
    if start >= end:
        start = end - DEFAULT_WINDOW
    return start, end


def occurrence_counts(fingerprints: list[str], start: datetime, end: datetime) -> dict[str, list]:
    """Per group, occurrences in each of SPARK_BUCKETS equal slices of [start, end).

    One GROUP BY over the groups' (fingerprint, timestamp) index, a count per slice.
    """
    step = (end - start) / SPARK_BUCKETS
    edges = [start + step * i for i in range(SPARK_BUCKETS + 1)]
    buckets = {
        f"b{i}": Count("id", filter=Q(timestamp__gte=edges[i], timestamp__lt=edges[i + 1]))
        for i in range(SPARK_BUCKETS)
    }
    rows = (
        ExtractionEvent.objects.filter(
            group_id__in=fingerprints, timestamp__gte=start, timestamp__lt=end
        )
        .values("group_id")
        .annotate(**buckets)
        .order_by()
    )
    counts = {fp: [0] * SPARK_BUCKETS for fp in fingerprints}
    for row in rows:
        counts[row["group_id"]] = [row[f"b{i}"] for i in range(SPARK_BUCKETS)]
    return counts


def sparkline_points(counts: list[int]) -> str:
    """An SVG polyline's points for these counts, scaled to the sparkline's box."""
    top = max(counts) or 1
    step = SPARK_WIDTH / (len(counts) - 1)
    return " ".join(
        f"{i * step:.1f},{SPARK_HEIGHT - 1 - (n / top) * (SPARK_HEIGHT - 2):.1f}"
        for i, n in enumerate(counts)
    )
