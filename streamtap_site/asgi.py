"""ASGI entry point: Django for HTTP, Channels for websockets (served by daphne)."""

import os

from django.core.asgi import get_asgi_application

from streamtap_site.data_dir import ensure_data_dir

# A daphne started on its own gets what manage.py gives a command: private file modes, the
# data directory and the secret key, before settings (which only read) are loaded.
ensure_data_dir()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "streamtap_site.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddleware  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.sessions import CookieMiddleware, SessionMiddleware  # noqa: E402

from sessions.liveness import LivenessSweeper  # noqa: E402
from streamtap_site.guard import RequestGuardMiddleware, install_in_daphne  # noqa: E402
from streamtap_site.heap import settle_heap  # noqa: E402
from streamtap_site.origin import SameOriginValidator  # noqa: E402
from streamtap_site.routing import websocket_urlpatterns  # noqa: E402

# Served by daphne: its requests get the body limit before the body is read (see guard.py).
install_in_daphne()

application = ProtocolTypeRouter(
    {
        "http": RequestGuardMiddleware(django_asgi_app),
        "websocket": SameOriginValidator(
            CookieMiddleware(SessionMiddleware(AuthMiddleware(URLRouter(websocket_urlpatterns))))
        ),
    }
)

# Served by daphne: sessions whose tap stopped beating become lost, live (sessions/liveness.py).
application = LivenessSweeper(application)

settle_heap()
