from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "tongzhou.imports"
    label = "imports"
