from django.apps import AppConfig


class GroupsConfig(AppConfig):
    name = "tongzhou.groups"
    label = "groups"
