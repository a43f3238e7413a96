from django.urls import path

from tongzhou.chat.consumers import GroupChatConsumer
from tongzhou.community.dm_consumer import DirectMessageConsumer

websocket_urlpatterns = [
    path("ws/groups/<int:group_id>/", GroupChatConsumer.as_asgi()),
    path("ws/messages/", DirectMessageConsumer.as_asgi()),
]
