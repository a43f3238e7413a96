from django.apps import AppConfig


class SafetyConfig(AppConfig):
    name = "tongzhou.safety"
    label = "safety"
