"""The output search API: matching lines across sessions, and a window of one session's output."""

from __future__ import annotations

from datetime import timedelta

from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from sessions.models import ProcessSession
from streamtap_site.api_common import DETAIL_401, DETAIL_404, ERRORS_400, StreamtapAPIMixin

from .indexer import catch_up_recent, ensure_indexed
from .queries import NoRecording, match_spans, output_window, search
from .serializers import OutputSearchParameters, OutputWindowParameters


def session_line_url(session_id: str, line: int) -> str:
    return f"{reverse('st-session-detail', args=[session_id])}?line={line}"


# The API's times are in the server's zone (STREAMTAP_TIME_ZONE), as DRF writes them.
_datetime = serializers.DateTimeField()


def result_dict(row, query: str) -> dict:
    """One matching line as the API shows it; `matches` are [start, end) character offsets of
    each match in `text`, `url` the session page with its terminal at this line."""
    session = row.session
    return {
        "session": session.session_id,
        "line": row.line,
        "offset_seconds": row.offset_seconds,
        "timestamp": _datetime.to_representation(
            session.started_at + timedelta(seconds=row.offset_seconds)
        ),
        "text": row.text,
        "matches": [list(span) for span in match_spans(row.text, query)],
        "url": session_line_url(session.session_id, row.line),
    }


def run_search(params: dict):
    """The page and the API ask the same question: (session or None, Page)."""
    session = None
    if params.get("session"):
        session = ProcessSession.objects.filter(session_id=params["session"]).first()
        if session is None:
            return None, None
        ensure_indexed(session)
    else:
        catch_up_recent()
    return session, search(
        params["q"], session=session, after=params.get("after"), limit=params["limit"]
    )


@extend_schema(
    summary="Find text in what programs printed (their recorded output), across sessions",
    parameters=[OutputSearchParameters],
    responses={200: OpenApiResponse(OpenApiTypes.OBJECT), 400: ERRORS_400, 401: DETAIL_401},
    tags=["output"],
)
class OutputSearchView(StreamtapAPIMixin, APIView):
    """Lines of recorded output holding `q`: newest session first, in line order within one.

    `{"results": [LINE…], "next": URL or null}`; LINE is `{"session", "line", "offset_seconds",
    "timestamp", "text", "matches", "url"}`. The text is the line as the extractor saw it: redacted,
    ANSI stripped, carriage returns resolved.
    """

    query_serializer_class = OutputSearchParameters

    def get(self, request):
        params = self.params
        _session, page = run_search(params)
        if page is None:
            return Response({"results": [], "next": None})
        results = [result_dict(row, params["q"]) for row in page.lines]
        next_url = None
        if page.next_after:
            query = request.query_params.copy()
            query["after"] = page.next_after
            next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
        return Response({"results": results, "next": next_url})


@extend_schema(
    summary="A window of a session's output around one line (its raw text, colours and all)",
    parameters=[OutputWindowParameters],
    responses={
        200: OpenApiResponse(OpenApiTypes.OBJECT),
        400: ERRORS_400,
        401: DETAIL_401,
        404: DETAIL_404,
    },
    tags=["output"],
)
class OutputWindowView(StreamtapAPIMixin, APIView):
    """`{"session", "line", "first_line", "last_line", "total_lines", "text", "cols", "rows",
    "complete"}`: the output from the start of `first_line` to the end of `last_line`, read
    from the recording at the position the index gives (the terminal view of a long session
    shows the lines around an event this way: the first ones have left its scrollback)."""

    query_serializer_class = OutputWindowParameters

    def get(self, request):
        params = self.params
        session = get_object_or_404(ProcessSession, session_id=params["session"])
        try:
            window = output_window(
                session, params["line"], before=params["before"], after=params["after"]
            )
        except NoRecording as exc:
            raise NotFound(str(exc)) from None
        return Response(
            {
                "session": session.session_id,
                "line": params["line"],
                "first_line": window.first_line,
                "last_line": window.last_line,
                "total_lines": window.total_lines,
                "text": window.text,
                "cols": window.cols,
                "rows": window.rows,
                "complete": window.complete,
            }
        )
