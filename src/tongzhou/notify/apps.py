from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "tongzhou.notify"
    label = "notify"

    def ready(self) -> None:
        from tongzhou import tasks
        from tongzhou.notify.digest import send_due_digests

        tasks.periodic_jobs.append(send_due_digests)
