import re

from django.urls import reverse


def test_schema_needs_authentication(outsider_client, db):
    assert outsider_client.get(reverse("st-api-schema")).status_code == 401


def test_schema_is_openapi_3_with_every_endpoint(owner_client):
    schema = owner_client.get(reverse("st-api-schema"), {"format": "json"}).json()
    assert schema["openapi"].startswith("3.")
    assert {
        "/api/query/extractions",
        "/api/query/sessions",
        "/api/query/stats/agent/{name}",
        "/api/sessions/{session_id}/",
        "/api/sessions/{session_id}/events/",
        "/api/code-blocks/",
        "/api/code-blocks/{sha256}/",
        "/api/extractions/{id}/review",
    } <= set(schema["paths"])
    params = {p["name"]: p for p in schema["paths"]["/api/query/extractions"]["get"]["parameters"]}
    assert params["type"]["schema"]["enum"][:2] == ["error", "warning"]
    assert params["limit"]["schema"]["maximum"] == 500


def test_docs_page_uses_the_vendored_swagger_ui(client, owner):
    client.force_login(owner)
    response = client.get(reverse("st-api-docs"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    # Nothing loaded from another host. (Not a search for "cdn": the page's random CSRF
    # token holds those three letters about once in 700 runs.)
    assert re.findall(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html, re.IGNORECASE) == []
    assert not re.search(r"jsdelivr|unpkg|cdnjs|googleapis", html, re.IGNORECASE)


def test_docs_page_sends_a_browser_without_a_session_to_log_in(client, db):
    response = client.get(reverse("st-api-docs"))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


# The remote taps' ingest API answers errors in its own shapes (its clients are taps).
TAP_API = re.compile(r"^/api/ingest/")


def test_every_operation_documents_its_errors_in_the_shapes_it_answers(owner_client):
    schema = owner_client.get(reverse("st-api-schema"), {"format": "json"}).json()
    documented = 0
    for path, operations in schema["paths"].items():
        if TAP_API.search(path):
            continue
        for method, operation in operations.items():
            responses = operation["responses"]
            shapes = {
                status: responses[status]["content"]["application/json"]["schema"]["$ref"]
                for status in ("400", "404")
                if status in responses
            }
            # Every endpoint rejects unknown query parameters, so every one can answer 400.
            assert shapes["400"].endswith("/ParameterErrors"), (method, path)
            assert shapes.get("404", "/Detail").endswith("/Detail"), (method, path)
            documented += 1
    assert documented >= 12


def test_a_bad_decision_and_a_missing_prompt_answer_in_the_apis_shapes(reviewer_client, db):
    from tests.factories import make_event, make_session

    session = make_session("codex")
    prompt = make_event(session, event_type="prompt", seq=3)
    url = f"/api/sessions/{session.session_id}/prompts/{prompt.seq}/decision"
    bad = reviewer_client.post(url, {"decision": "maybe"}, format="json")
    assert bad.status_code == 400 and set(bad.json()) == {"errors"}
    assert "decision" in bad.json()["errors"]
    missing = reviewer_client.post(
        url.replace("/3/", "/99/"), {"decision": "approve"}, format="json"
    )
    assert missing.status_code == 404 and missing.json() == {"detail": "Not found."}
    pending = f"/api/sessions/{session.session_id}/prompts/pending"
    unknown = reviewer_client.get(pending, {"days": "3"})
    assert unknown.status_code == 400
