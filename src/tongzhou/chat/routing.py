from django.urls import path

from tongzhou.chat.consumers import GroupChatConsumer

websocket_urlpatterns = [
    path("ws/groups/<int:group_id>/", GroupChatConsumer.as_asgi()),
]
