from django.urls import path

from sessions import consumers, ingest

websocket_urlpatterns = [
    path("ws/live/", consumers.LiveConsumer.as_asgi()),
    path("ws/ingest/", ingest.IngestConsumer.as_asgi()),
]
