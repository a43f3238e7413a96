from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "tongzhou.accounts"
    label = "accounts"
