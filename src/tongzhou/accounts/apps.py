from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "tongzhou.accounts"
    label = "accounts"

    def ready(self) -> None:
        from tongzhou.accounts import throttle  # noqa: F401  (connects the sign-in signals)
