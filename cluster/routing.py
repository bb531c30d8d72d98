"""WebSocket routes."""

from __future__ import annotations

from django.urls import path

from cluster import consumers

websocket_urlpatterns = [
    path("ws/clusters/<slug:name>/", consumers.ClusterConsumer.as_asgi()),
]
