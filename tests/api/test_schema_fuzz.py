"""Property-based run of schemathesis against the live OpenAPI schema, in process (WSGI).

Every operation, authenticated with a token, in both positive and negative modes: the server
never answers 5xx, and every answer (status code, content type, body) is one the schema
declares. Bounded: a few dozen examples per operation, well under a minute in all.
"""

from datetime import timedelta

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import make_code_block, make_event, make_session, make_token, make_user

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
]


@pytest.fixture
def fuzz_headers(transactional_db):
    # A staff user, so the review operation gets past its permission check.
    staff = make_user("fuzz-reviewer", staff=True)
    return {"Authorization": f"Token {make_token(staff)}"}


@pytest.fixture
def api_schema(fuzz_headers):
    # Data for the generated requests to find: sessions with events and a code block.
    session = make_session("codex", session_id="codex-20261126-101500")
    block = make_code_block()
    make_event(session, risk_level="high")
    make_event(session, event_type="code_block", rule="fenced_code", code_block=block)
    make_session("claude", status="running", started_at=session.started_at - timedelta(days=3))
    return schemathesis.openapi.from_wsgi(
        "/api/schema/?format=json", get_wsgi_application(), headers=fuzz_headers
    )


# Operations of other work in progress that do not conform yet; each is fuzzed once its reason
# is gone (remove it here). Every other operation, present and future, is fuzzed.
NOT_YET_CONFORMANT = [
    # Replay and recording export: no response schema ("unable to guess serializer").
    r"^/api/replay/",
    r"/recording\.cast$",
]
schema = schemathesis.pytest.from_fixture("api_schema").exclude(
    path_regex="|".join(NOT_YET_CONFORMANT)
)


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=25,
    # Generated examples only: schemathesis' explicit boundary examples number in the
    # thousands for the ten-parameter extractions query, minutes of run time.
    phases=[Phase.generate],
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_answers_every_generated_request_as_its_schema_says(case, fuzz_headers):
    case.call_and_validate(headers=fuzz_headers, checks=CHECKS)
