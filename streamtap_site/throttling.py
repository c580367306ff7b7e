"""Guessing credentials is slow: failed API tokens and failed logins are counted per client.

A client (its address) that failed too often in the window is refused with a 429 until the
window moves on; other clients, and the same user from another client, are not affected, and
nobody is locked out for good. The counts live in Django's cache.
"""

from __future__ import annotations

import math
import re

from django.http import JsonResponse
from django.urls import resolve
from django.urls.exceptions import Resolver404
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

RATE = re.compile(r"(\d+)/(\d+)([smhd])")
SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class FailureThrottle(SimpleRateThrottle):
    """DRF's rate bookkeeping, counting only the failures recorded with ``record``."""

    def __init__(self, request):
        super().__init__()
        self.key = self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
        self.now = self.timer()
        self.history = [t for t in self.cache.get(self.key, []) if t > self.now - self.duration]

    def get_rate(self):
        # Read when used (DRF reads its rates once, at import): settings may change in tests.
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    def parse_rate(self, rate):
        """DRF's "10/min", or a window of several units: "10/5m", "3/2s"."""
        match = RATE.fullmatch(rate or "")
        if match is None:
            return super().parse_rate(rate)
        number, count, unit = match.groups()
        return int(number), int(count) * SECONDS[unit]

    def get_cache_key(self, request, view):
        return self.key

    def exhausted(self) -> bool:
        return len(self.history) >= self.num_requests

    def record(self) -> None:
        self.throttle_success()


class BadTokenThrottle(FailureThrottle):
    scope = "bad_token"


class BadLoginThrottle(FailureThrottle):
    scope = "bad_login"


LOGIN_VIEWS = {"login", "admin:login"}


class FailedCredentialsThrottleMiddleware:
    """Too many failed logins or API tokens from one client address: a 429 for a while.

    A failed login is a POST to a login form answered with the form again (200; a success
    redirects); a failed token is a 401 to a request that carried one. Counted here, in
    front of every view, so no API view can forget it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST" and _is_login(request.path_info):
            return self.throttled(request, BadLoginThrottle, failed=lambda r: r.status_code == 200)
        if request.META.get("HTTP_AUTHORIZATION"):
            return self.throttled(request, BadTokenThrottle, failed=lambda r: r.status_code == 401)
        return self.get_response(request)

    def throttled(self, request, throttle_class, failed):
        throttle = throttle_class(request)
        if throttle.exhausted():
            wait = math.ceil(throttle.wait() or 1)
            response = JsonResponse(
                {"detail": f"Too many failed attempts from this address; try again in {wait} s."},
                status=429,
            )
            response["Retry-After"] = str(wait)
            return response
        response = self.get_response(request)
        if failed(response):
            throttle.record()
        return response


def _is_login(path: str) -> bool:
    try:
        return resolve(path).view_name in LOGIN_VIEWS
    except Resolver404:
        return False
