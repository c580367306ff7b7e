"""REST API for extraction events, code blocks, agent statistics and review.

The plumbing every API view shares (authentication, parameter errors, cursor pagination, error
bodies) is streamtap_site/api_common.py; its names are importable from here too, as before.
"""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from streamtap_site.api_common import (  # noqa: F401 (re-exported: the names' old home)
    DETAIL_401,
    DETAIL_403,
    DETAIL_404,
    ERRORS_400,
    LINK_CURSOR_FIELDS,
    MAX_DB_INT,
    CursorListAPIView,
    ParameterError,
    StableCursorPagination,
    StreamtapAPIMixin,
    api_exception_handler,
    detail_responses,
    documented,
    is_link_cursor,
    list_responses,
    paginator_for,
    validated_body,
)

from . import problems, queries
from .export import CONTENT_TYPES, export_response
from .filters import EventCountQuery, EventExportQuery, EventQuery
from .models import CodeBlock, ErrorGroup, ExtractionEvent
from .serializers import (
    AgentStatsSerializer,
    APIRootSerializer,
    CodeBlockQuerySerializer,
    CodeBlockSerializer,
    ErrorGroupSerializer,
    ExtractionEventSerializer,
    GroupQuerySerializer,
    ReviewSerializer,
    event_data,
    event_values,
)


# Events as plain rows (`event_values`, `event_data`): the same JSON as ExtractionEventSerializer,
# which stays the documented shape, at a fraction of its cost per event.
class EventListAPIView(CursorListAPIView):
    serializer_class = ExtractionEventSerializer

    def paginate_queryset(self, queryset):
        return super().paginate_queryset(event_values(queryset))

    def page_data(self, page) -> list:
        return event_data(page)


# --- The API's root --------------------------------------------------------------------------

# What GET /api/ links to: each name and the URL name it resolves.
API_ROOT_LINKS = {
    "extractions": "st-api-query-extractions",
    "sessions": "st-api-query-sessions",
    "code_blocks": "st-api-code-blocks",
    "groups": "st-api-groups",
    "docs": "st-api-docs",
    "schema": "st-api-schema",
}


@extend_schema(
    summary="Where to start: the main endpoints, the docs and the schema",
    responses={200: APIRootSerializer, 400: ERRORS_400, 401: DETAIL_401},
    tags=["root"],
)
class APIRootView(StreamtapAPIMixin, APIView):
    def get(self, request):
        return Response(
            {name: reverse(url_name, request=request) for name, url_name in API_ROOT_LINKS.items()}
        )


# --- Extraction events -----------------------------------------------------------------------


@documented(
    "Extraction events, newest first",
    "extractions",
    description=(
        "`since` is inclusive, `until` exclusive; times are ISO 8601 (with an offset, or read "
        "in `tz`, else UTC); a date alone is its day's start (as `until`: the whole day "
        "counts); `range` is a window ending now or at `until`. The Events page reads the "
        "same parameters the same way."
    ),
)
class ExtractionListView(EventListAPIView):
    query_serializer_class = EventQuery
    pagination_class = paginator_for("-timestamp", "-id")

    def get_queryset(self):
        return queries.events_for_api()

    def filtered_queryset(self, params):
        return self.get_queryset().filtered(params)


class EventCountSerializer(serializers.Serializer):
    count = serializers.IntegerField(
        help_text=f"Events the filters select, counted up to {queries.COUNT_CAP:,}."
    )
    more = serializers.BooleanField(help_text="Whether there are more than `count`.")


@extend_schema(
    summary="How many extraction events the filters select (as the Events page counts them)",
    parameters=[EventCountQuery],
    responses={200: EventCountSerializer, 400: ERRORS_400, 401: DETAIL_401},
    tags=["extractions"],
)
class ExtractionCountView(StreamtapAPIMixin, APIView):
    query_serializer_class = EventCountQuery

    def get(self, request):
        count, more = queries.events_count(self.params)
        return Response({"count": count, "more": more})


class ExportNegotiation(DefaultContentNegotiation):
    """`format` names the export's file format here, not a renderer; errors are JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


@extend_schema(
    summary="Extraction events as a CSV or NDJSON download, newest first",
    description=(
        "Every event the filters of the list select (the same parameters), streamed. CSV "
        "cells starting with = + - or @ get a leading quote, so a spreadsheet shows them as "
        "text; NDJSON lines are the list's event shape."
    ),
    parameters=[EventExportQuery],
    responses={
        (200, CONTENT_TYPES["csv"].split(";")[0]): OpenApiTypes.STR,
        (200, CONTENT_TYPES["ndjson"]): OpenApiTypes.STR,
        400: ERRORS_400,
        401: DETAIL_401,
    },
    tags=["extractions"],
)
class ExtractionExportView(StreamtapAPIMixin, APIView):
    query_serializer_class = EventExportQuery
    content_negotiation_class = ExportNegotiation

    def get(self, request):
        events = ExtractionEvent.objects.filtered(self.params)
        return export_response(request, events, self.params.get("format") or "csv")


@extend_schema(
    summary="Review an extraction event (staff only)",
    request=ReviewSerializer,
    parameters=[
        OpenApiParameter(
            "id",
            {"type": "integer", "minimum": 0, "maximum": MAX_DB_INT},
            OpenApiParameter.PATH,
            description="The event's id.",
        )
    ],
    responses={
        200: ExtractionEventSerializer,
        400: ERRORS_400,
        401: DETAIL_401,
        403: DETAIL_403,
        404: DETAIL_404,
    },
    tags=["extractions"],
)
class ReviewView(StreamtapAPIMixin, APIView):
    # IsAdminUser is "is_staff": an anonymous client still gets 401, a non-staff user 403.
    permission_classes = [IsAdminUser]
    parser_classes = [JSONParser]

    def post(self, request, id: str):
        if not id.isascii() or not id.isdigit() or int(id) > MAX_DB_INT:
            raise Http404
        event = get_object_or_404(queries.events_for_api(), pk=int(id))
        review = validated_body(ReviewSerializer, request)
        event.review(request.user, review["decision"], review["note"])
        return Response(ExtractionEventSerializer(event).data)


# --- Agent statistics ------------------------------------------------------------------------


@documented(
    "An agent's sessions, events and per-rule review outcome",
    "stats",
    description=(
        "Success rate is sessions completed with exit code 0 over finished sessions. "
        "Each rule's precision is confirmed / (confirmed + false_positive); a rule is flagged "
        "when its precision is below `precision_threshold` with at least `min_judged` judged."
    ),
    parameters=[OpenApiParameter("name", OpenApiTypes.STR, OpenApiParameter.PATH)],
)
class AgentStatsView(StreamtapAPIMixin, APIView):
    serializer_class = AgentStatsSerializer

    def get(self, request, name: str):
        stats = queries.agent_stats(name)
        if stats is None:
            raise NotFound()
        return Response(self.serializer_class(stats).data)


# --- Code blocks -----------------------------------------------------------------------------


@documented("Code blocks, most recently seen first", "code-blocks")
class CodeBlockListView(CursorListAPIView):
    serializer_class = CodeBlockSerializer
    query_serializer_class = CodeBlockQuerySerializer
    pagination_class = paginator_for("-last_seen", "-id")
    param_filters = {"language": "language", "q": "content__icontains"}


@documented("One code block by its SHA-256", "code-blocks")
class CodeBlockDetailView(StreamtapAPIMixin, generics.RetrieveAPIView):
    serializer_class = CodeBlockSerializer
    queryset = CodeBlock.objects.all()
    lookup_field = "sha256"


# --- Error groups ----------------------------------------------------------------------------


@documented("Error groups (problems): one per fingerprint, most recently seen first", "groups")
class GroupListView(CursorListAPIView):
    serializer_class = ErrorGroupSerializer
    query_serializer_class = GroupQuerySerializer
    # The default order; the schema reads the page shape from it.
    pagination_class = paginator_for(*problems.ORDERINGS["last_seen"])

    def get_queryset(self):
        return ErrorGroup.objects.select_related("reviewed_by").prefetch_related("sessions")

    @property
    def paginator(self):
        # The order is a parameter: the cursor paginator is built for it.
        if not hasattr(self, "_paginator"):
            order = self.params.get("order") or "last_seen"
            self._paginator = paginator_for(*problems.ORDERINGS[order])()
        return self._paginator

    def filtered_queryset(self, params):
        return self.get_queryset().filtered(params)


@documented("One error group by its fingerprint", "groups")
class GroupDetailView(StreamtapAPIMixin, generics.RetrieveAPIView):
    serializer_class = ErrorGroupSerializer
    queryset = ErrorGroup.objects.select_related("reviewed_by").prefetch_related("sessions")
    lookup_field = "fingerprint"
