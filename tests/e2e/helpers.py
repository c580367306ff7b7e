"""What the e2e tests that start real taps share: starting one, and finding the session it made.

Also the pages whose JS draws something, with the selector that shows it has (the dashboard and
the accessibility tests wait for the same marks).
"""

from __future__ import annotations

import subprocess
import sys

from tests.e2e.conftest import ROOT
from tests.helpers import wait_for

# The demo program asking for an approval, as a tap's arguments after its mode.
DEMO_AGENT = ("--agent", "demo-agent", "--", sys.executable, "-m", "sessions.demo_agent", "--fast")

# Path -> a selector that shows the page has drawn what it draws with JS.
PAGE_MARKS = {
    "/": "#chart-per-minute .uplot",
    "/sessions/": "#sessions-table tbody tr[data-session]",
    "/events/": "#events-body tr[data-seq]",
    "/code-blocks/": "code.hljs",
}


def start_tap(
    env: dict,
    *args: str,
    stdin=subprocess.PIPE,
    stdout=subprocess.PIPE,
    stderr=subprocess.PIPE,
    **popen,
) -> subprocess.Popen:
    """``manage.py tap *args`` with ``env`` (a live server's, so it reports there)."""
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "tap", *args],
        cwd=ROOT,
        env=env,
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        **popen,
    )


def tap_python(env: dict, program: str, *args: str, **popen) -> subprocess.Popen:
    """``manage.py tap --pipe *args -- python -c program``."""
    return start_tap(env, "--pipe", *args, "--", sys.executable, "-c", program, **popen)


def last_session_pk(server) -> int:
    """The newest session's pk (0 without one): a later tap's session has a greater one."""
    code = (
        "from sessions.models import ProcessSession as S\n"
        "print(S.objects.order_by('-pk').values_list('pk', flat=True).first() or 0)"
    )
    return int(server.shell(code).strip() or 0)


def wait_for_session(server, *, since_id: int = 0, status: str = "", timeout: float = 45) -> str:
    """The id of the newest session after pk ``since_id`` (with ``status``), once there is one."""
    condition = f", status={status!r}" if status else ""
    code = (
        "from sessions.models import ProcessSession as S\n"
        f"s = S.objects.filter(pk__gt={since_id}{condition}).order_by('-pk').first()\n"
        "print(s.session_id if s else '')"
    )
    return wait_for(
        lambda: server.shell(code).strip(),
        timeout=timeout,
        what=f"a {status or 'new'} session",
        interval=0.2,
    )
