"""GET /api/: where a client starts — the main endpoints, the docs and the schema, as links."""

from django.urls import reverse

ROOT = "/api/"


def test_the_root_links_the_main_endpoints_the_docs_and_the_schema(owner_client):
    response = owner_client.get(ROOT)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    links = response.json()
    assert links == {
        "extractions": "http://testserver" + reverse("st-api-query-extractions"),
        "sessions": "http://testserver" + reverse("st-api-query-sessions"),
        "code_blocks": "http://testserver" + reverse("st-api-code-blocks"),
        "groups": "http://testserver" + reverse("st-api-groups"),
        "docs": "http://testserver" + reverse("st-api-docs"),
        "schema": "http://testserver" + reverse("st-api-schema"),
    }


def test_every_link_answers(owner_client, client, owner):
    client.force_login(owner)  # the docs page is for a browser with a session
    for name, url in owner_client.get(ROOT).json().items():
        answer = client if name == "docs" else owner_client
        assert answer.get(url).status_code == 200, name


def test_the_root_needs_credentials_like_the_rest(outsider_client, db):
    response = outsider_client.get(ROOT)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"


def test_the_root_is_named_and_in_the_schema(owner_client):
    assert reverse("st-api-root") == ROOT
    schema = owner_client.get(reverse("st-api-schema"), {"format": "json"}).json()
    assert "/api/" in schema["paths"]


def test_the_root_takes_no_parameters(owner_client):
    response = owner_client.get(ROOT, {"format": "json"})
    assert response.status_code == 400
    assert "format" in response.json()["errors"]
