import random
import sys
from dataclasses import asdict

import hypothesis
import pytest
from hypothesis import strategies as st

from extraction.engine import Extractor, StreamRedactor, hyperscan_db, redact
from extraction.engine.redact import AWS_SECRET_REACH, CHUNK_MIN, redact_chunk

SECRETS = [
    ("sk-abcdefghijklmnopqrstuvwxyz123456", "openai_key"),
    ("sk-proj-abcdefghijklmnopqrstuvwxyz123456", "openai_key"),
    ("sk-ant-api03-abcdefghijklmnopqrstuvwxyz", "anthropic_key"),
    ("AKIAIOSFODNN7EXAMPLE", "aws_access_key_id"),
    ("ghp_abcdefghijklmnopqrstuvwxyz0123456789", "github_token"),
    ("github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "github_token"),
    ("xoxb-1234567890-abcdefghij", "slack_token"),
]


@pytest.mark.parametrize("secret, kind", SECRETS)
def test_known_token_formats_are_redacted(secret, kind):
    out = redact(f"using {secret} now")
    assert secret not in out and f"[REDACTED:{kind}]" in out
    assert out.startswith("using ") and out.endswith(" now")


def test_bearer_and_authorization_headers():
    assert (
        redact("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abc.def")
        == "Authorization: Bearer [REDACTED:token]"
    )


def test_url_password_keeps_user_and_host():
    assert (
        redact("postgres://bob:s3cr3t@db.local:5432/app")
        == "postgres://bob:[REDACTED:password]@db.local:5432/app"
    )


def test_assignments():
    assert redact("password=hunter2") == "password=[REDACTED:secret]"
    assert redact("DB_PASSWORD: hunter2") == "DB_PASSWORD: [REDACTED:secret]"
    assert (
        redact("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG")
        == "aws_secret_access_key = [REDACTED:secret]"
    )
    assert redact('api_key="abc def"') == "api_key=[REDACTED:secret]"
    assert redact("secret=xyz token=abc") == "secret=[REDACTED:secret] token=[REDACTED:secret]"


AWS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
GIT_SHA = "3f786850e387550fdab836ed7e6dc881de23001b"


def test_aws_secret_key_next_to_its_access_key_id_is_redacted():
    assert redact(f"Error: AWS key {AWS_KEY_ID} rejected, secret {AWS_SECRET}") == (
        "Error: AWS key [REDACTED:aws_access_key_id] rejected, "
        "secret [REDACTED:aws_secret_access_key]"
    )


@pytest.mark.parametrize(
    "line",
    [
        f"{AWS_KEY_ID} {AWS_SECRET}",
        f"the secret is {AWS_SECRET}.",
        f"AWS: ({AWS_SECRET})",
        f"aws_secret_access_key = {AWS_SECRET}",
        f"secret{' ' * (AWS_SECRET_REACH - len('secret'))}{AWS_SECRET}",
    ],
)
def test_aws_secret_key_after_an_access_key_id_or_a_secret_word_is_redacted(line):
    out = redact(line)
    assert AWS_SECRET not in out and "[REDACTED:aws_secret_access_key]" in out


@pytest.mark.parametrize(
    "line",
    [
        f"secret rotation in commit {GIT_SHA}",  # hex: a git SHA, not a key
        f"aws s3 cp x {AWS_SECRET.lower()}",  # one case only
        f"cache entry {AWS_SECRET} stored",  # no secret word or key id before it
        f"{AWS_SECRET} is not an aws secret",  # the word comes after it
        f"aws\n{AWS_SECRET}",  # the word is on another line
        f"aws {AWS_SECRET}X",  # 41 characters
        f"secret {AWS_SECRET}==",  # part of a longer base64 value
        f"secret{' ' * AWS_SECRET_REACH}{AWS_SECRET}",  # named too far before it
    ],
)
def test_forty_character_tokens_that_are_not_aws_secret_keys_are_kept(line):
    assert redact(line) == line


def test_private_key_block_keeps_line_count():
    text = "before\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\nAAAA\n-----END OPENSSH PRIVATE KEY-----\nafter"
    out = redact(text)
    assert "b3Blbn" not in out and "[REDACTED:private_key]" in out
    assert out.count("\n") == text.count("\n") and out.endswith("after")


def test_ordinary_text_is_unchanged():
    for text in (
        "Tokens used: 1,234",
        "max_tokens=100",
        "the key insight",
        "passed 3 tests",
        "https://example.com/path",
        "sk-short",
        "token count 5",
    ):
        assert redact(text) == text


def test_redact_never_raises():
    rng = random.Random(3)
    alphabet = "sk-ant-AKIApassword=:/@ \n\x00\ufffd\x1b-----BEGIN PRIVATE KEY"
    for _ in range(300):
        redact("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 200))))
    redact("")


def stream(chunks):
    r = StreamRedactor()
    return "".join(r.feed(c) for c in chunks) + r.flush()


def test_stream_redactor_catches_a_key_split_across_chunks():
    secret = "sk-abcdefghijklmnopqrstuvwxyz123456"
    text = f"key is {secret} ok\nnext password=hunter2 done\n"
    for cut in range(1, len(text)):
        out = stream([text[:cut], text[cut:]])
        assert secret not in out and "hunter2" not in out, cut
        assert out.endswith("done\n")


def test_stream_redactor_catches_an_aws_secret_key_split_from_its_secret_word():
    text = f"Error: AWS key {AWS_KEY_ID} rejected, secret {AWS_SECRET} ok\nnext\n"
    for cut in range(1, len(text)):
        out = stream([text[:cut], text[cut:]])
        assert out == redact(text), cut


def test_stream_redactor_random_chunks_match_whole_redaction():
    text = (
        "a Bearer eyJabcdefghijklmnop x\npostgres://u:pw12345@h/db\nplain line\n"
        f"aws key {AWS_KEY_ID}, secret {AWS_SECRET} end\ncommit {GIT_SHA} secret\n"
    )
    rng = random.Random(5)
    for _ in range(50):
        chunks, pos = [], 0
        while pos < len(text):
            n = rng.randint(1, 9)
            chunks.append(text[pos : pos + n])
            pos += n
        assert stream(chunks) == redact(text)


def test_stream_redactor_holds_back_little_and_never_across_a_newline():
    r = StreamRedactor()
    assert r.feed("line one\n") == "line one\n"
    out = r.feed("Continue? [y/N] ")
    assert out == "Continue? [y/N] "
    r.feed("x" * 2000)
    assert len(r._held) <= StreamRedactor.HOLD_MAX


def test_stream_redactor_withholds_private_key_lines_across_chunks():
    chunks = [
        "-----BEGIN RSA PRIVATE KEY-----\n",
        "MIIEsecretline\n",
        "-----END RSA PRIVATE KEY-----\nafter\n",
    ]
    out = stream(chunks)
    assert "MIIE" not in out and out.endswith("after\n")


# --- whole chunks (the tap's path): the hyperscan prefilter must change nothing --------------

_CHUNK_PARTS = [
    *(s for s, _ in SECRETS),
    "Bearer eyJabcdefghijklmnop",
    "Authorization: Basic\ndXNlcjpwYXNzd29yZA==",
    "postgres://user:pw12345@db/x",
    "DB_PASSWORD=hunter2",
    'apiKey: "k-123456"',
    "token = abc",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
    "Tokens used: 1,234",
    "secret",
    "AWS",
    AWS_SECRET,
    f"secret {AWS_SECRET}",
    GIT_SHA,
    "monkey=banana",
    "résumé ✓ naïve",
    "ERROR: failed",
    "  ",
    "\n",
    "\r",
    "\x1b[31m",
]


def _random_chunk(rng: random.Random, size: int) -> str:
    parts = []
    while sum(map(len, parts)) < size:
        parts.append(rng.choice(_CHUNK_PARTS) if rng.random() < 0.1 else "plain words here")
        parts.append(rng.choice([" ", "\n", "", "\t"]))
    return "".join(parts)


def test_redact_chunk_equals_redact_over_large_random_chunks():
    rng = random.Random(11)
    for size in (CHUNK_MIN, 10_000, 65_536):
        for _ in range(30):
            text = _random_chunk(rng, size)
            assert redact_chunk(text) == redact(text)


def test_redaction_prefilter_compiles_where_hyperscan_runs():
    # A pattern hyperscan rejects would quietly send every chunk through the slow path.
    redact_module = sys.modules["extraction.engine.redact"]
    if hyperscan_db.hyperscan is not None and hyperscan_db.USE_HYPERSCAN:
        assert redact_module._chunk_db is not None


def test_redact_chunk_leaves_a_chunk_without_secrets_untouched():
    text = "step 1 ok\nTokens used: 12\nmonkey business\n" * 500
    assert redact_chunk(text) is text


# --- events: everything taken from the text is redacted -------------------------------------

GITHUB_TOKEN = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"


def _events(text, **options):
    x = Extractor(**options)
    return x.feed(text) + x.close()


def test_event_metadata_is_redacted_like_its_content():
    (event,) = _events(f"Error: AWS key {AWS_KEY_ID} rejected\n")
    assert event.content == "Error: AWS key [REDACTED:aws_access_key_id] rejected"
    assert event.metadata["message"] == "AWS key [REDACTED:aws_access_key_id] rejected"


@pytest.mark.parametrize(
    "text",
    [
        f"ValueError: bad token {GITHUB_TOKEN}\n",
        f'Traceback (most recent call last):\n  File "/tmp/{GITHUB_TOKEN}/x.py", line 1\nKeyError: {GITHUB_TOKEN}\n',
        f"src/{GITHUB_TOKEN}.c:3:5: error: bad {GITHUB_TOKEN}\n",
        f"thread 'main' panicked at src/main.rs:2:5:\nbad token {GITHUB_TOKEN}\n",
        f"Run `git push https://{GITHUB_TOKEN}@github.com/x` now? [y/N]\n",
    ],
)
def test_no_secret_survives_anywhere_in_an_event(text):
    events = _events(text)
    assert events and all(GITHUB_TOKEN not in repr(asdict(e)) for e in events)


def test_metadata_is_redacted_inside_lists_and_dicts():
    x = Extractor()
    x.feed(f"Use this token?\n❯ 1. Yes, send {GITHUB_TOKEN}\n  2. No\n")
    (event,) = x.idle()
    assert event.metadata["options"][0]["label"] == "Yes, send [REDACTED:github_token]"


def test_extractor_trusts_input_redacted_by_the_tap():
    # The tap redacts the stream first; the extractor must not spend time on it again.
    (event,) = _events(f"Error: AWS key {AWS_KEY_ID} rejected\n", input_redacted=True)
    assert event.metadata["message"] == f"AWS key {AWS_KEY_ID} rejected"


# --- issue 15 row 15: more kinds of secret, each with look-alikes that stay ----------------

NEW_KIND_SECRETS = [
    ("sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc", "stripe_key"),
    ("rk_live_" + "51HabcDEFghiJKLmnoPQRst", "stripe_key"),
    ("sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc", "stripe_key"),
    ("AIzaSyD" + "-9tSrke72PouQMnMX-a7eZSW0jkFMBWY", "google_api_key"),
    (
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0T",
        "jwt",
    ),
    ("xoxp-1234567890-0987654321-abcdefABCDEF", "slack_token"),
    ("xoxa-2-1234567890-abcdefABCDEF", "slack_token"),
    ("npm_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", "npm_token"),
    ("pypi-AgEIcHlwaS5vcmc" + "CJDk5ZjM0YTFiLTQ4ZTUtNGNiNy1hNDk5LWRlMjA3ZWI4ZmRk", "pypi_token"),
]


@pytest.mark.parametrize("secret, kind", NEW_KIND_SECRETS)
def test_new_token_kinds_are_redacted(secret, kind):
    out = redact(f"using {secret} now")
    assert out == f"using [REDACTED:{kind}] now"


def test_a_slack_webhook_keeps_its_host_and_loses_its_path():
    url = "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"
    assert redact(f"posting to {url}") == (
        "posting to https://hooks.slack.com/services/[REDACTED:slack_webhook]"
    )


def test_a_gcp_service_account_file_loses_its_key_and_key_id():
    account = (
        '{"type": "service_account", "project_id": "demo-project", '
        '"private_key_id": "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b", '
        '"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n'
        '-----END PRIVATE KEY-----\\n", "client_email": "bot@demo-project.iam.gserviceaccount.com"}'
    )
    out = redact(account)
    assert "1a2b3c4d5e6f" not in out and "MIIEvQIBADAN" not in out
    assert '"private_key_id": "[REDACTED:gcp_private_key_id]"' in out
    assert "[REDACTED:private_key]" in out
    assert '"client_email": "bot@demo-project.iam.gserviceaccount.com"' in out


LOOK_ALIKES = [
    "task_live_view and sk_live_ alone",  # no key after the prefix
    "rk_live_short",  # too short for a Stripe key
    "Aizawa wrote AIzaShort",  # a name, and an AIza prefix too short for a key
    "header eyJhbGciOiJIUzI1NiJ9 only",  # a JWT header alone is no token
    "eyJ.foo.bar",
    "npm_config_cache=/tmp/npm npm_package_version",  # npm's own environment variables
    "pip install --index-url https://pypi.org/simple pypi-simple",
    "see https://hooks.slack.com/ for webhooks",
    '"private_key_id": ""',
    "xoxo hugs",
]


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alikes_of_the_new_kinds_stay(text):
    assert redact(text) == text


# --- pauses: a secret's start is held across an idle flush ------------------------------------


def paused(before: str, after: str) -> str:
    """What a stream redactor lets out when a program pauses between two writes."""
    r = StreamRedactor()
    return r.feed(before) + r.flush(final=False, now=0.0) + r.feed(after) + r.flush()


@pytest.mark.parametrize(
    "before, after, secret",
    [
        ("key sk-proj-A1b2", "C3d4E5f6G7h8I9j0K1l2 ok\n", "A1b2"),
        ("postgres://bob:hun", "ter2@db/app\n", "hun"),
        ("API_KEY=", "zq9Xv7Lm3Np8\n", "zq9Xv7"),
        ("password: hun", "ter2\n", "hun"),
        ("Authorization: Bearer", " eyJhbGciOiJIUzI1NiJ9.abc.def\n", "eyJhbGci"),
        ("aws secret wJalrXUtnFEMI/", "K7MDENG/bPxRfiCYEXAMPLEKEY\n", "wJalr"),
        ("aws secret ", AWS_SECRET + "\n", "wJalr"),
        ("token eyJhbGciOiJIUzI1NiJ9.eyJz", "dWIiOiIxMjM0NTY3ODkwIn0.sig\n", "eyJhbGci"),
        (
            "-----BEGIN RSA PRIV",
            "ATE KEY-----\nMIIEsecret\n-----END RSA PRIVATE KEY-----\n",
            "MIIE",
        ),
        ("API_KE", "Y=hunter2\n", "hunter2"),
    ],
)
def test_a_pause_inside_a_secret_lets_no_part_of_it_out(before, after, secret):
    out = paused(before, after)
    assert secret not in out and "[REDACTED:" in out


def test_a_pause_lets_out_text_that_cannot_start_a_secret():
    r = StreamRedactor()
    assert r.feed("Continue? [y/N]") == "Continue? "
    assert r.flush(final=False) == "[y/N]"
    assert r.feed("\nPassword: ") + r.flush(final=False) == "\nPassword: "
    assert not r.holding_secret


def test_a_secret_start_held_past_the_bound_is_replaced_whole_and_its_rest_dropped():
    r = StreamRedactor()
    out = r.feed("key sk-proj-A1b2") + r.flush(final=False, now=10.0)
    assert out == "key " and r.holding_secret
    assert r.release_overdue(10.0 + StreamRedactor.HOLD_SECONDS / 2) == ""
    out += r.release_overdue(10.0 + StreamRedactor.HOLD_SECONDS)
    out += r.feed("C3d4E5f6G7h8I9j0K1l2 rest\n")
    assert out == "key [REDACTED:unfinished] rest\n"


def test_a_secret_start_at_the_very_end_is_replaced_whole():
    r = StreamRedactor()
    assert r.feed("key ghp_abc") + r.flush() == "key [REDACTED:unfinished]"


def test_the_chunk_prefilter_misses_none_of_the_new_kinds():
    parts = [
        *(s for s, _ in NEW_KIND_SECRETS),
        "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
        '"private_key_id": "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b",',
        *LOOK_ALIKES,
    ]
    rng = random.Random(15)
    for _ in range(40):
        pieces = []
        while sum(map(len, pieces)) < CHUNK_MIN * 2:
            pieces.append(rng.choice(parts) if rng.random() < 0.2 else "plain words here")
            pieces.append(rng.choice([" ", "\n", "\t"]))
        text = "".join(pieces)
        assert redact_chunk(text) == redact(text)
    for secret, _ in NEW_KIND_SECRETS:
        text = "x" * CHUNK_MIN + f"\nusing {secret}\n"
        assert secret not in redact_chunk(text)


# --- any cut, any pause: no six characters of a secret's value get out -----------------------

PAUSE_SECRETS = {
    "sk-proj-A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6": "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6",
    "ghp_abcdefghijklmnopqrstuvwxyz0123456789": "abcdefghijklmnopqrstuvwxyz0123456789",
    "postgres://bob:Hunter2Secret@db.local/app": "Hunter2Secret",
    "API_KEY=Zq9Xv7Lm3Np8Rt2Yw6": "Zq9Xv7Lm3Np8Rt2Yw6",
    "password: Hunter2Secret": "Hunter2Secret",
    f"Bearer {NEW_KIND_SECRETS[4][0]}": NEW_KIND_SECRETS[4][0],
    f"aws secret {AWS_SECRET}": AWS_SECRET,
    **{secret: secret.split("_", 2)[-1] for secret, _ in NEW_KIND_SECRETS[:3]},
    **{secret: secret[4:] for secret, kind in NEW_KIND_SECRETS if kind == "google_api_key"},
    **{secret: secret[4:] for secret, kind in NEW_KIND_SECRETS if kind == "npm_token"},
}


@hypothesis.settings(max_examples=400, deadline=None)
@hypothesis.given(
    secret=st.sampled_from(sorted(PAUSE_SECRETS)),
    before=st.sampled_from(["", "ERROR: ", "log: x "]),
    twice=st.booleans(),
    cuts=st.lists(st.integers(1, 180), max_size=6),
    pauses=st.lists(st.sampled_from(["none", "pause", "overdue"]), min_size=7, max_size=7),
)
def test_no_part_of_a_secret_gets_out_whatever_the_cuts_and_pauses(
    secret, before, twice, cuts, pauses
):
    text = before + secret + (f" and {secret}" if twice else "") + " done\nnext\n"
    points = sorted({c for c in cuts if c < len(text)})
    chunks = [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]
    r, out, now = StreamRedactor(), "", 0.0
    for chunk, pause in zip(chunks, pauses, strict=False):
        out += r.feed(chunk)
        if pause != "none":
            out += r.flush(final=False, now=now)
        if pause == "overdue":
            now += StreamRedactor.HOLD_SECONDS
            out += r.release_overdue(now)
    out += r.flush()
    value = PAUSE_SECRETS[secret]
    assert not any(value[k : k + 6] in out for k in range(len(value) - 5)), (chunks, out)
    assert out.endswith(" done\nnext\n") or out.endswith("\nnext\n"), (chunks, out)
