import logging
from django_tasks_db.models import DBTaskResult
from tongzhou.tasks import run_pending
from .test_email_digest import *  # noqa

def test_probe(world, smtp, caplog):
    caplog.set_level(logging.DEBUG)
    smtp.stop()
    save_settings(world, "member")
    run_pending()
    for t in DBTaskResult.objects.all():
        print(t.task_path, t.status, t.exception_class_path, address("member") in (t.traceback or ""))
    print("in logs:", address("member") in records(caplog))
    print([ (r.name, r.levelname, r.getMessage()[:100]) for r in caplog.records if r.levelno>=logging.WARNING])
