from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "tongzhou.chat"
    label = "chat"
