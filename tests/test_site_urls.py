"""Site-wide routes outside the apps."""

from django.templatetags.static import static


def test_the_favicon_browsers_ask_for_on_every_page_is_there(client, db):
    # The admin's pages declare no icon, so browsers ask for /favicon.ico (a 404 before).
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == static("favicon.svg")


def test_the_admin_is_branded(admin_client):
    response = admin_client.get("/admin/")
    assert b"streamtap review" in response.content
    assert b"Django administration" not in response.content
