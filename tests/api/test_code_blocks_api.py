from django.urls import reverse

from tests.factories import make_code_block

LIST = reverse("st-api-code-blocks")


def test_code_blocks_need_authentication(outsider_client, world):
    assert outsider_client.get(LIST).status_code == 401


def test_code_blocks_filter_by_language_and_text(owner_client, world):
    make_code_block("echo hello\n", language="bash")
    assert [b["language"] for b in owner_client.get(LIST).json()["results"]] == ["bash", "python"]
    [python] = owner_client.get(LIST, {"language": "python"}).json()["results"]
    assert python["sha256"] == world.block.sha256
    [bash] = owner_client.get(LIST, {"q": "HELLO"}).json()["results"]
    assert bash["content"] == "echo hello\n"


def test_code_blocks_paginate(owner_client, world):
    for i in range(3):
        make_code_block(f"x = {i}\n")
    first = owner_client.get(LIST, {"limit": 2}).json()
    second = owner_client.get(first["next"]).json()
    assert len(first["results"]) == 2 and len(second["results"]) == 2
    assert second["next"] is None


def test_code_block_by_sha256(owner_client, world):
    url = reverse("st-api-code-block-detail", args=[world.block.sha256])
    assert owner_client.get(url).json()["content"] == "def f():\n    return 42\n"


def test_unknown_code_block_is_a_404(owner_client, world):
    assert owner_client.get(reverse("st-api-code-block-detail", args=["0" * 64])).status_code == 404


def test_code_block_limit_above_the_cap_is_a_400(owner_client, world):
    response = owner_client.get(LIST, {"limit": 501})
    assert response.status_code == 400
    assert "limit" in response.json()["errors"]
