"""Deprecated: moved into the tap runtime's package, ``sessions.tap.terminal_answers``; this name is kept
for one release and is the same module object."""

import sys

from sessions.tap import terminal_answers as _module

sys.modules[__name__] = _module
