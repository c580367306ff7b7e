"""The named world shared by the test suite.

- owner: runs agents and reads what streamtap found (an ordinary user);
- reviewer: judges high-risk events (staff);
- outsider: no credentials at all.
"""

from streamtap_site.cli import prepare

# As manage.py does, before Django loads settings (which only read): the data directory, its
# 0700/0600 modes and the secret key the test servers and taps share. This is why pyproject
# does not name the settings module: pytest-django would load it before this file.
prepare("pytest")

import django  # noqa: E402

django.setup()

import pytest  # noqa: E402
from django.contrib.auth.models import Permission  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from tests.factories import make_token, make_user  # noqa: E402


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _no_credential_throttling_in_process(settings):
    # Every in-process test client is 127.0.0.1, and tests send wrong tokens on purpose: the
    # failure throttle (streamtap_site/throttling.py) is proven against a real server in
    # tests/security/test_throttling.py, and kept out of the way here.
    from django.core.cache import cache

    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**rates, "bad_token": "100000/m", "bad_login": "100000/m"},
    }
    cache.clear()


@pytest.fixture
def owner(db):
    return make_user("olivia")


@pytest.fixture
def reviewer(db):
    user = make_user("rey", staff=True)
    # What a reviewer needs in the admin: see everything, change events (the review fields).
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label__in=["extraction", "tapsessions"],
            codename__regex=r"^(view|change)_",
        )
    )
    return user


def _token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_token(user)}")
    return client


@pytest.fixture
def owner_client(owner):
    return _token_client(owner)


@pytest.fixture
def reviewer_client(reviewer):
    return _token_client(reviewer)


@pytest.fixture
def outsider_client():
    return APIClient()
