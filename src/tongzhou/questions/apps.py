from django.apps import AppConfig


class QuestionsConfig(AppConfig):
    name = "tongzhou.questions"
    label = "questions"

    def ready(self) -> None:
        from tongzhou import tasks
        from tongzhou.questions.routing import route_due_questions

        tasks.periodic_jobs.append(route_due_questions)
