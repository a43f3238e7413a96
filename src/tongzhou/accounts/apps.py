from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "tongzhou.accounts"
    label = "accounts"

    def ready(self) -> None:
        # Importing connects their sign-in signals.
        from tongzhou.accounts import sessions, throttle  # noqa: F401
