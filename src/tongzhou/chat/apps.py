from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "tongzhou.chat"
    label = "chat"

    def ready(self) -> None:
        from tongzhou.chat import attachments  # noqa: F401  (registers the file clean-up)
        from tongzhou.metrics import register_collectors

        register_collectors()
