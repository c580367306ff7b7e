from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token


def create_token(*args) -> str:
    out = StringIO()
    call_command("create_token", *args, stdout=out)
    return out.getvalue().strip()


def test_create_token_prints_a_token_that_authenticates(owner, client):
    key = create_token("olivia")
    assert Token.objects.get(user=owner).key == key
    response = client.get("/api/query/sessions", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200


def test_create_token_is_stable_unless_reset(owner):
    first = create_token("olivia")
    assert create_token("olivia") == first
    assert create_token("olivia", "--reset") != first


def test_create_token_for_an_unknown_user_fails(db):
    with pytest.raises(CommandError, match="no user 'ghost'"):
        create_token("ghost")
