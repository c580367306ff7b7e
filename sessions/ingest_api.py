"""POST /api/ingest/batch: remote taps (no database credentials) store their batches here."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import TokenAuthentication
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from .remote import store_batch


class CanIngest(BasePermission):
    """Writing sessions is for users allowed to add events (staff/superusers, or granted)."""

    message = "This token may not ingest sessions (needs extraction.add_extractionevent)."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and (user.is_staff or user.has_perm("extraction.add_extractionevent"))
        )


class IngestBatchView(APIView):
    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated, CanIngest]

    @extend_schema(
        request=inline_serializer(
            "IngestBatch",
            {
                "spec": serializers.DictField(),
                "events": serializers.ListField(child=serializers.DictField()),
                "states": serializers.ListField(child=serializers.ListField()),
                "stats": serializers.DictField(),
                "finish": serializers.DictField(allow_null=True, required=False),
            },
        ),
        responses={
            200: inline_serializer(
                "IngestResult",
                {
                    "session_id": serializers.CharField(),
                    "session_pk": serializers.IntegerField(),
                    "stored": serializers.IntegerField(),
                },
            ),
            400: OpenApiResponse(description="malformed batch"),
            401: OpenApiResponse(description="no or bad token"),
            403: OpenApiResponse(description="token may not ingest"),
        },
        tags=["ingest"],
    )
    def post(self, request):
        if not isinstance(request.data, dict):
            return Response(
                {"detail": "expected a JSON object"}, status=status.HTTP_400_BAD_REQUEST
            )
        try:
            result = store_batch(request.data)
        except (ValueError, TypeError, KeyError) as exc:
            return Response(
                {"detail": f"malformed batch: {exc}"}, status=status.HTTP_400_BAD_REQUEST
            )
        return Response(result)
