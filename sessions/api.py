"""REST API for process sessions: the filtered list, one session with its timeline, its events."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from rest_framework import generics

from extraction.api import EventListAPIView
from extraction.queries import events_for_api
from extraction.serializers import ExtractionEventSerializer
from streamtap_site.api_common import (
    DETAIL_404,
    CursorListAPIView,
    StreamtapAPIMixin,
    documented,
    list_responses,
    paginator_for,
)

from .models import ProcessSession, ProcessSessionQuerySet
from .serializers import (
    ProcessSessionDetailSerializer,
    ProcessSessionSerializer,
    SessionEventsQuerySerializer,
    SessionQuerySerializer,
)


@documented("Process sessions, newest first", "sessions")
class SessionListView(CursorListAPIView):
    serializer_class = ProcessSessionSerializer
    query_serializer_class = SessionQuerySerializer
    pagination_class = paginator_for("-started_at", "-id")
    param_filters = {
        "agent": ProcessSessionQuerySet.for_agent,
        "status": "status",
        "days": ProcessSessionQuerySet.started_within,
    }


@documented("One session with its state changes", "sessions")
class SessionDetailView(StreamtapAPIMixin, generics.RetrieveAPIView):
    serializer_class = ProcessSessionDetailSerializer
    queryset = ProcessSession.objects.prefetch_related("state_changes")
    lookup_field = "session_id"


@documented(
    "A session's events in seq order",
    "sessions",
    description="Resync after a gap with `after_seq`: the events the client has not seen yet.",
    responses={**list_responses(ExtractionEventSerializer), 404: DETAIL_404},
)
class SessionEventsView(EventListAPIView):
    query_serializer_class = SessionEventsQuerySerializer
    pagination_class = paginator_for("seq")

    def get_queryset(self):
        return events_for_api()

    def list(self, request, *args, **kwargs):
        # The session is looked up before the page: an unknown one is a 404, not an empty list.
        self.session = get_object_or_404(ProcessSession, session_id=kwargs["session_id"])
        return super().list(request, *args, **kwargs)

    def filtered_queryset(self, params):
        queryset = self.get_queryset().filter(session=self.session)
        if "after_seq" in params:
            queryset = queryset.filter(seq__gt=params["after_seq"])
        return queryset
