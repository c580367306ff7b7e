"""The tap runtime: plain Python around one wrapped program (no views, no templates; the ORM only
in the writer process and the prompt controller's decision column, see ``runtime``).

``sessions.tap`` keeps the names it had as a module."""

from .runtime import ENV_ALLOWLIST, Tap, TapError, TapOptions, TapResult, print_summary

__all__ = ["ENV_ALLOWLIST", "Tap", "TapError", "TapOptions", "TapResult", "print_summary"]
