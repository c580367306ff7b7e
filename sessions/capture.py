"""Deprecated: moved into the tap runtime's package, ``sessions.tap.capture``; this name is kept
for one release and is the same module object."""

import sys

from sessions.tap import capture as _module

sys.modules[__name__] = _module
