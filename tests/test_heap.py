"""streamtap_site/heap.py: the served process freezes what it has loaded before it serves."""

import subprocess
import sys

from bench._common import clean_env
from tests.processes import ROOT


def test_the_asgi_application_loads_its_views_and_freezes_them(tmp_path):
    code = (
        "import gc, sys\n"
        "import streamtap_site.asgi\n"
        "print(gc.get_freeze_count(), 'extraction.api' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean_env(STREAMTAP_DATA_DIR=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    frozen, views_loaded = result.stdout.split()
    assert int(frozen) > 50_000  # Django, DRF, Channels and streamtap's own modules
    assert views_loaded == "True"
