from django.apps import AppConfig


class CommunityConfig(AppConfig):
    name = "tongzhou.community"
    label = "community"

    def ready(self) -> None:
        from tongzhou import tasks
        from tongzhou.community.reminders import fire_due

        tasks.periodic_jobs.append(fire_due)
