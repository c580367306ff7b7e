"""Content-Security-Policy for the dashboard.

Program output shown on the pages is untrusted. The templates never inline a script (data
reaches JS through data-* attributes and `json_script`), so scripts can be limited to our own
origin: even if an escaping bug let markup through, an injected `<script>` or `onerror=` would
not run. Styles allow 'unsafe-inline' because xterm.js writes its theme into a `<style>`
element at runtime; style injection cannot run code.
"""

from __future__ import annotations

from functools import wraps

HEADER = "Content-Security-Policy"


def policy_for(request) -> str:
    host = request.get_host()
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self'",
            # 'self' covers same-origin websockets in CSP 3; the explicit ws/wss forms are for
            # browsers that predate it.
            f"connect-src 'self' ws://{host} wss://{host}",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def _apply(request, response):
    if HEADER not in response:
        response[HEADER] = policy_for(request)
    return response


def content_security_policy(view):
    """Decorator for views whose pages must carry the policy even without the middleware."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        return _apply(request, view(request, *args, **kwargs))

    return wrapped


class ContentSecurityPolicyMiddleware:
    """Adds the policy to every page that does not set its own (admin, login).

    The API is left alone: its Swagger/ReDoc pages come from drf-spectacular's templates,
    which have inline scripts.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path_info.startswith("/api/"):
            return response
        return _apply(request, response)
