"""Deprecated: the screen view moved into the engine, ``extraction.engine.screen``.

Kept for one release so that imports from here keep working; new code imports from the engine.
"""

from extraction.engine.screen import *  # noqa: F403 - the engine's public names, unchanged
from extraction.engine.screen import __all__  # noqa: F401
