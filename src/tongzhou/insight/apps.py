from django.apps import AppConfig


class InsightConfig(AppConfig):
    name = "tongzhou.insight"
    label = "insight"
