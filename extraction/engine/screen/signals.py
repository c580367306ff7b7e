"""The OSC 7501 signal protocol: a program says on its output that it is blocked on a permission.

``ESC ] 7501 ; state=blocked:app=codex:kind=permission[:msg=<base64>] BEL`` (or ST). A program
that speaks it is known to wait even when its screen cannot be read.
"""

from __future__ import annotations

import base64
import binascii
import re

OSC_SIGNAL = "\x1b]7501"
# A complete OSC 7501 sequence, terminated by BEL or ST (ESC \).
OSC_SIGNAL_RE = re.compile(r"\x1b\]7501;([^\x07\x1b]*)(?:\x07|\x1b\\)")
SIGNAL_FIELD_RE = re.compile(r"[:;](?=[A-Za-z_]+=)")
MAX_OSC_CARRY = 4096


def parse_signal(payload: str) -> dict | None:
    """``state=blocked:app=codex:kind=permission[:msg=<base64>]`` as a dict; None for a query."""
    payload = payload.strip()
    if not payload or payload == "?":
        return None
    signal: dict = {}
    for part in SIGNAL_FIELD_RE.split(payload):
        key, sep, value = part.partition("=")
        if sep:
            signal[key.strip()] = value.strip()
    if "msg" in signal:
        try:
            signal["msg"] = base64.b64decode(
                signal["msg"] + "=" * (-len(signal["msg"]) % 4)
            ).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            pass
    signal["raw"] = payload
    return signal if "state" in signal else None


def is_blocked_on_permission(signal: dict | None) -> bool:
    return bool(
        signal
        and signal.get("state", "").startswith("blocked")
        and "permission" in (signal.get("kind", "") + signal.get("state", ""))
    )
