from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "tongzhou.knowledge"
    label = "knowledge"
