from django.apps import AppConfig


class CommunityConfig(AppConfig):
    name = "tongzhou.community"
    label = "community"

    def ready(self) -> None:
        from tongzhou import tasks
        from tongzhou.community import events, milestones, reminders

        reminders.sources.extend([events.due_reminders, milestones.due_reminders])
        tasks.periodic_jobs.append(reminders.fire_due)
