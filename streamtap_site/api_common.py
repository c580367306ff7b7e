"""What every API view of streamtap shares: authentication, query parameters refused when
unknown, cursor pagination, and the error bodies (400 `{"errors": {...}}`, 401/403/404
`{"detail": ...}`) with their OpenAPI descriptions. extraction/api.py and sessions/api.py, the
tap's and the replay's API views build on it.
"""

from __future__ import annotations

from base64 import b64decode
from collections.abc import Callable
from urllib.parse import parse_qs

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.urls import register_converter
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.exceptions import APIException, NotFound, ParseError
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import exception_handler

from extraction.serializers import NoQueryParameters, QueryParameters

# The largest value SQLite (and PostgreSQL bigint) accept as an integer parameter.
MAX_DB_INT = 2**63 - 1


class AnyTextConverter:
    """Any non-empty text, newlines and slashes included; the view decides if it names something.

    API path parameters use it (`<anytext:session_id>`): an id the client got wrong (a slash,
    a negative number) then reaches the view, which answers the API's JSON 404, not Django's
    HTML page. Registered here, once, for every app's URL module.
    """

    regex = r"[\s\S]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(AnyTextConverter, "anytext")


class ParameterErrorsSerializer(serializers.Serializer):
    """400 body: each bad parameter (or body field) with what is wrong and what is allowed."""

    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class DetailSerializer(serializers.Serializer):
    """401/403/404 body. A missing object is always "Not found."."""

    detail = serializers.CharField()


class ParameterError(APIException):
    """400 naming each bad parameter: {"errors": {"type": ["must be one of ..."]}}."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"

    def __init__(self, errors: dict):
        super().__init__(detail={"errors": errors})


def validated_body(serializer_class, request) -> dict:
    """The request's body as `serializer_class` validates it; a bad one is a 400 naming each
    field, as a bad query parameter is."""
    body = serializer_class(data=request.data)
    if not body.is_valid():
        raise ParameterError(body.errors)
    return body.validated_data


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

    def get_paginated_response(self, data):
        response = super().get_paginated_response(data)
        # The links are made: the page is not needed any more. DRF's view, request and this
        # paginator form a reference cycle, so a page kept here (500 rows at limit=500) waited
        # for the cyclic collector instead of going with the request.
        self.page = None
        return response

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
    # Each query parameter that filters: the field lookup its value is for, or a function
    # (queryset, value) -> queryset. A parameter not given does not filter.
    param_filters: dict[str, str | Callable] = {}

    def get_queryset(self):
        # Without a `queryset`: every object of the serializer's model.
        if self.queryset is not None:
            return super().get_queryset()
        return self.serializer_class.Meta.model.objects.all()

    def filtered_queryset(self, params: dict):
        queryset = self.get_queryset()
        for name, lookup in self.param_filters.items():
            if name in params:
                if callable(lookup):
                    queryset = lookup(queryset, params[name])
                else:
                    queryset = queryset.filter(**{lookup: params[name]})
        return queryset

    def list(self, request, *args, **kwargs):
        self.paginator.page_size = self.params["limit"]
        page = self.paginate_queryset(self.filtered_queryset(self.params))
        return self.get_paginated_response(self.page_data(page))

    def page_data(self, page) -> list:
        return self.get_serializer(page, many=True).data


def documented(summary: str, tag: str, **schema):
    """`extend_schema` for an API view, what it can read off the view filled in: a list's query
    parameters and page of `serializer_class`, or the one object it shows (with its 404).
    `schema` adds to that or replaces it (a description, other responses)."""

    def document(view):
        if issubclass(view, CursorListAPIView):
            read = {
                "parameters": [view.query_serializer_class],
                "responses": list_responses(view.serializer_class),
            }
        else:
            read = {"responses": detail_responses(view.serializer_class)}
        return extend_schema(summary=summary, tags=[tag], **{**read, **schema})(view)

    return document


def list_responses(serializer_class) -> dict:
    return {200: serializer_class(many=True), 400: ERRORS_400, 401: DETAIL_401}


def detail_responses(serializer_class) -> dict:
    return {200: serializer_class, 400: ERRORS_400, 401: DETAIL_401, 404: DETAIL_404}
