"""REST API for extraction events, code blocks, agent statistics and review.

The shared pieces of the API (authentication order, cursor pagination, parameter errors) live
here too; sessions/api.py builds on them.
"""

from __future__ import annotations

from base64 import b64decode
from urllib.parse import parse_qs

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.exceptions import APIException, NotFound, ParseError
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAdminUser, IsAuthenticated
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView, exception_handler

from . import problems, queries
from .models import CodeBlock, ErrorGroup
from .serializers import (
    MAX_DB_INT,
    AgentStatsSerializer,
    APIRootSerializer,
    CodeBlockQuerySerializer,
    CodeBlockSerializer,
    DetailSerializer,
    ErrorGroupSerializer,
    ExtractionEventSerializer,
    ExtractionQuerySerializer,
    GroupQuerySerializer,
    NoQueryParameters,
    ParameterErrorsSerializer,
    QueryParameters,
    ReviewSerializer,
    event_data,
    event_values,
)

# --- Shared API plumbing ---------------------------------------------------------------------


class ParameterError(APIException):
    """400 naming each bad parameter: {"errors": {"type": ["must be one of ..."]}}."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"

    def __init__(self, errors: dict):
        super().__init__(detail={"errors": errors})


def api_exception_handler(exc, context):
    # A body that is not JSON is a bad parameter too; give it the same shape as the others.
    if isinstance(exc, ParseError):
        exc = ParameterError({"body": [str(exc.detail)]})
    # Django's 404 names the model ("No ExtractionEvent matches the given query."): every
    # missing object reads the same, and the API does not show its class names.
    if isinstance(exc, Http404):
        exc = NotFound()
    return exception_handler(exc, context)


ERRORS_400 = OpenApiResponse(
    ParameterErrorsSerializer, description="A parameter is invalid or unknown."
)
DETAIL_401 = OpenApiResponse(DetailSerializer, description="No or invalid credentials.")
DETAIL_403 = OpenApiResponse(DetailSerializer, description="Authenticated but not allowed.")
DETAIL_404 = OpenApiResponse(DetailSerializer, description='No such object: "Not found."')


class StreamtapAPIMixin:
    # Token authentication first: DRF answers an anonymous request with 401 only when the
    # first authenticator can name a WWW-Authenticate scheme (session auth cannot, so it
    # would get 403). Browsers still authenticate with their session cookie.
    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]
    # The query parameters the endpoint reads, as `self.params`; any other is a 400. An
    # endpoint that reads none says so too, rather than ignore a parameter it was given.
    query_serializer_class: type[QueryParameters] = NoQueryParameters
    # Parameters read by another part than the query serializer (a list's paginator).
    passthrough_params: tuple[str, ...] = ()

    def get_exception_handler(self):
        return api_exception_handler

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # After the credentials are checked: an anonymous client gets its 401 whatever it sent.
        params = self.query_serializer_class.from_request(
            request, passthrough=self.passthrough_params
        )
        if not params.is_valid():
            raise ParameterError(params.errors)
        self.params = params.validated_data


class StableCursorPagination(CursorPagination):
    """Cursor pagination; the page size is the `limit` parameter the view has validated.

    `ordering` ends with a unique column so the order is total and a page boundary never
    drops or repeats an item.
    """

    page_size_query_param = None
    invalid_cursor_message = "invalid cursor: use the `next` or `previous` link as given"

    def invalid_cursor(self) -> ParameterError:
        return ParameterError({self.cursor_query_param: [self.invalid_cursor_message]})

    def decode_cursor(self, request):
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is not None and not is_link_cursor(encoded):
            raise self.invalid_cursor()
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise self.invalid_cursor() from None
        if cursor is not None and cursor.position is not None:
            # The position goes straight into a filter; a forged one must be a 400, not a
            # database error.
            field_name = self.ordering[0].lstrip("-")
            field = self._model._meta.get_field(field_name)
            try:
                value = field.to_python(cursor.position)
                if isinstance(value, int) and abs(value) > MAX_DB_INT:
                    raise DjangoValidationError("out of range")
            except DjangoValidationError:
                raise self.invalid_cursor() from None
        return cursor

    def paginate_queryset(self, queryset, request, view=None):
        self._model = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Opaque position from a previous page's `next` or `previous` link.",
                "schema": {"type": "string", "minLength": 1},
            }
        ]


# The fields of a cursor as DRF's CursorPagination.encode_cursor writes them: offset, reverse,
# position.
LINK_CURSOR_FIELDS = frozenset({"o", "r", "p"})


def is_link_cursor(encoded: str) -> bool:
    """Whether `encoded` is a cursor a `next` or `previous` link can hold.

    DRF's own decoding lets base64 skip what is not base64 and takes a missing field as its
    default, so `[]`, `{}` or `%00` would read as the first page: a client with a mangled
    cursor would page from the start again without knowing.
    """
    try:
        text = b64decode(encoded, validate=True).decode("ascii")
        fields = parse_qs(text, keep_blank_values=True, strict_parsing=True)
    except ValueError:  # binascii.Error and UnicodeError are ValueErrors
        return False
    return (
        bool(fields)
        and fields.keys() <= LINK_CURSOR_FIELDS
        and all(len(values) == 1 for values in fields.values())
        and fields.get("r", ["1"]) == ["1"]
    )


def paginator_for(*ordering: str) -> type[StableCursorPagination]:
    return type("Pagination", (StableCursorPagination,), {"ordering": ordering})


# A list filtered by validated query parameters and paged by `limit` + `cursor`. (A comment,
# not a docstring: drf-spectacular would copy a docstring into every list's description.)
class CursorListAPIView(StreamtapAPIMixin, generics.ListAPIView):
    passthrough_params = (StableCursorPagination.cursor_query_param,)

    def filtered_queryset(self, params: dict):
        raise NotImplementedError

    def list(self, request, *args, **kwargs):
        self.paginator.page_size = self.params["limit"]
        page = self.paginate_queryset(self.filtered_queryset(self.params))
        return self.get_paginated_response(self.page_data(page))

    def page_data(self, page) -> list:
        return self.get_serializer(page, many=True).data


# Events as plain rows (`event_values`, `event_data`): the same JSON as ExtractionEventSerializer,
# which stays the documented shape, at a fraction of its cost per event.
class EventListAPIView(CursorListAPIView):
    serializer_class = ExtractionEventSerializer

    def paginate_queryset(self, queryset):
        return super().paginate_queryset(event_values(queryset))

    def page_data(self, page) -> list:
        return event_data(page)


def list_responses(serializer_class) -> dict:
    return {200: serializer_class(many=True), 400: ERRORS_400, 401: DETAIL_401}


def detail_responses(serializer_class) -> dict:
    return {200: serializer_class, 400: ERRORS_400, 401: DETAIL_401, 404: DETAIL_404}


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


@extend_schema(
    summary="Extraction events, newest first",
    parameters=[ExtractionQuerySerializer],
    responses=list_responses(ExtractionEventSerializer),
    tags=["extractions"],
)
class ExtractionListView(EventListAPIView):
    query_serializer_class = ExtractionQuerySerializer
    pagination_class = paginator_for("-timestamp", "-id")

    def get_queryset(self):
        return queries.events_for_api()

    def filtered_queryset(self, params):
        return queries.filter_events(self.get_queryset(), params)


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
        review = ReviewSerializer(data=request.data)
        if not review.is_valid():
            raise ParameterError(review.errors)
        event.review(request.user, review.validated_data["decision"], review.validated_data["note"])
        return Response(ExtractionEventSerializer(event).data)


# --- Agent statistics ------------------------------------------------------------------------


@extend_schema(
    summary="An agent's sessions, events and per-rule review outcome",
    description=(
        "Success rate is sessions completed with exit code 0 over finished sessions. "
        "Each rule's precision is confirmed / (confirmed + false_positive); a rule is flagged "
        "when its precision is below `precision_threshold` with at least `min_judged` judged."
    ),
    parameters=[OpenApiParameter("name", OpenApiTypes.STR, OpenApiParameter.PATH)],
    responses=detail_responses(AgentStatsSerializer),
    tags=["stats"],
)
class AgentStatsView(StreamtapAPIMixin, APIView):
    def get(self, request, name: str):
        stats = queries.agent_stats(name)
        if stats is None:
            raise NotFound()
        return Response(AgentStatsSerializer(stats).data)


# --- Code blocks -----------------------------------------------------------------------------


@extend_schema(
    summary="Code blocks, most recently seen first",
    parameters=[CodeBlockQuerySerializer],
    responses=list_responses(CodeBlockSerializer),
    tags=["code-blocks"],
)
class CodeBlockListView(CursorListAPIView):
    serializer_class = CodeBlockSerializer
    query_serializer_class = CodeBlockQuerySerializer
    pagination_class = paginator_for("-last_seen", "-id")
    queryset = CodeBlock.objects.all()

    def filtered_queryset(self, params):
        queryset = self.get_queryset()
        if "language" in params:
            queryset = queryset.filter(language=params["language"])
        if "q" in params:
            queryset = queryset.filter(content__icontains=params["q"])
        return queryset


@extend_schema(
    summary="One code block by its SHA-256",
    responses=detail_responses(CodeBlockSerializer),
    tags=["code-blocks"],
)
class CodeBlockDetailView(StreamtapAPIMixin, generics.RetrieveAPIView):
    serializer_class = CodeBlockSerializer
    queryset = CodeBlock.objects.all()
    lookup_field = "sha256"


# --- Error groups ----------------------------------------------------------------------------


@extend_schema(
    summary="Error groups (problems): one per fingerprint, most recently seen first",
    parameters=[GroupQuerySerializer],
    responses=list_responses(ErrorGroupSerializer),
    tags=["groups"],
)
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


@extend_schema(
    summary="One error group by its fingerprint",
    responses=detail_responses(ErrorGroupSerializer),
    tags=["groups"],
)
class GroupDetailView(StreamtapAPIMixin, generics.RetrieveAPIView):
    serializer_class = ErrorGroupSerializer
    queryset = ErrorGroup.objects.select_related("reviewed_by").prefetch_related("sessions")
    lookup_field = "fingerprint"
