"""Approve or deny, from the dashboard, a prompt a wrapped program is waiting at (staff only)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from extraction.models import EventType, ExtractionEvent, PromptDecision
from streamtap_site.api_common import (
    DETAIL_401,
    DETAIL_403,
    DETAIL_404,
    ERRORS_400,
    StreamtapAPIMixin,
    validated_body,
)

from .models import ProcessSession


class PromptDecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["approve", "deny"])


# The API's common ground (StreamtapAPIMixin): token or session login, unknown query
# parameters refused, 400s as {"errors": …} and 404s as {"detail": "Not found."}.
class PendingPromptView(StreamtapAPIMixin, APIView):
    """The prompt a session is waiting at, as the tap described it (question, options, screen)."""

    @extend_schema(
        responses={
            200: inline_serializer(
                "PendingPrompt",
                {
                    "waiting": serializers.BooleanField(),
                    "seq": serializers.IntegerField(allow_null=True),
                    "prompt": serializers.DictField(allow_null=True),
                    "can_decide": serializers.BooleanField(),
                },
            ),
            400: ERRORS_400,
            401: DETAIL_401,
            404: DETAIL_404,
        },
    )
    def get(self, request, session_id: str):
        session = get_object_or_404(ProcessSession, session_id=session_id)
        prompt = session.pending_prompt()
        return Response(
            {
                "waiting": prompt is not None,
                "seq": prompt["seq"] if prompt else None,
                "prompt": prompt,
                "can_decide": bool(request.user.is_staff),
            }
        )


class PromptDecisionView(StreamtapAPIMixin, APIView):
    parser_classes = [JSONParser]
    permission_classes = [IsAdminUser]

    @extend_schema(
        request=PromptDecisionSerializer,
        responses={
            200: inline_serializer(
                "PromptDecision",
                {
                    "session": serializers.CharField(),
                    "seq": serializers.IntegerField(),
                    "decision": serializers.CharField(),
                    "prompt_decision": serializers.CharField(),
                    "review_status": serializers.CharField(),
                },
            ),
            400: ERRORS_400,
            401: DETAIL_401,
            403: DETAIL_403,
            404: DETAIL_404,
            409: OpenApiResponse(
                description="the prompt was answered already, superseded, or is not waiting"
            ),
        },
    )
    def post(self, request, session_id: str, seq: str):
        if not seq.isdigit() or len(seq) > 9:
            raise NotFound()
        seq = int(seq)
        decision = validated_body(PromptDecisionSerializer, request)["decision"]
        event = get_object_or_404(
            ExtractionEvent.objects.select_related("session"),
            session__session_id=session_id,
            seq=seq,
            event_type=EventType.PROMPT,
        )
        refusal = _not_waiting_at(event) or event.decide_prompt(request.user, decision)
        if refusal:
            return Response(
                {
                    "detail": refusal,
                    "prompt_decision": event.prompt_decision,
                    "prompt_decision_by": event.prompt_decision_by,
                },
                status=status.HTTP_409_CONFLICT,
            )
        return Response(
            {
                "session": session_id,
                "seq": seq,
                "decision": decision,
                "prompt_decision": event.prompt_decision,
                # Triage is separate: deciding a prompt does not review the event.
                "review_status": event.review_status,
            }
        )


def _not_waiting_at(event: ExtractionEvent) -> str | None:
    """Why the program is not waiting at this prompt, or None if it is: a decision now would
    type into a program that asks something else, or answer nothing at all."""
    waiting = event.session.pending_prompt()
    if waiting is not None and waiting.get("seq") == event.seq and not event.prompt_decision:
        return None
    event.refresh_from_db(fields=["prompt_decision", "prompt_decision_by"])
    answered = (
        event.session.state_changes.filter(state="prompt_answered", metadata__seq=event.seq)
        .values_list("metadata", flat=True)
        .first()
    )
    outcome = event.prompt_decision or (answered or {}).get("outcome")
    by = event.prompt_decision_by or (answered or {}).get("by")
    if outcome == PromptDecision.SUPERSEDED:
        return "This prompt was superseded: the program asked another question since."
    if outcome:
        return f"This prompt was answered already ({outcome}{f' by {by}' if by else ''})."
    return "The program is not waiting at this prompt."
