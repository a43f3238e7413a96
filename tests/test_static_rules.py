"""Our semgrep rules (.semgrep/tongzhou.yml) catch what they are for, and only that.

Bad and good snippets go into a temporary tree shaped like ours; one semgrep run over it must
report exactly the lines marked `expect: <rule-id>`, every rule must be expected somewhere, and
nothing else may be flagged. Semgrep runs offline with the same flags as scripts/test.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / ".semgrep" / "tongzhou.yml"
PREFIX = "tongzhou-"

PYTHON_SNIPPET = """
from django.db import connection
from django.db.models import expressions
from django.db.models.expressions import RawSQL
from django.utils import html, safestring
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators import csrf
from django.views.decorators.csrf import csrf_exempt  # expect: tongzhou-csrf-exempt
from django.views.decorators.csrf import csrf_exempt as no_csrf  # expect: tongzhou-csrf-exempt


def escaping(user, items):
    a = mark_safe(user.display_name)  # expect: tongzhou-mark-safe-non-literal
    b = safestring.mark_safe(f"<b>{user}</b>")  # expect: tongzhou-mark-safe-non-literal
    c = SafeString(user.bio)  # expect: tongzhou-mark-safe-non-literal
    d = format_html(f"<b>{user}</b>")  # expect: tongzhou-format-html-non-literal
    e = format_html("<b>%s</b>" % user)  # expect: tongzhou-format-html-non-literal
    f = html.format_html("<b>{}</b>".format(user), 1)  # expect: tongzhou-format-html-non-literal
    g = format_html_join("", "<li>" + user + "</li>", items)  # expect: tongzhou-format-html-non-literal
    h = format_html("<br>")  # expect: tongzhou-format-html-without-arguments
    fine = [
        mark_safe("<br>"),
        SafeString("&nbsp;"),
        format_html("<b>{}</b>", user),
        html.format_html("<i>{name}</i>", name=user),
        format_html_join("", "<li>{}</li>", ((i,) for i in items)),
    ]
    return a, b, c, d, e, f, g, h, fine


@mark_safe  # expect: tongzhou-mark-safe-non-literal
def badge():
    return "<b>x</b>"


@csrf_exempt  # expect: tongzhou-csrf-exempt
def view(request):
    return None


@csrf.csrf_exempt  # expect: tongzhou-csrf-exempt
def other_view(request):
    return None


urlpatterns = [no_csrf(view)]  # expect: tongzhou-csrf-exempt
view.csrf_exempt = True  # expect: tongzhou-csrf-exempt


def sql(model, name, ids):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM t WHERE name = '{name}'")  # expect: tongzhou-sql-string-formatting
        cursor.execute("SELECT * FROM t WHERE name = '%s'" % name)  # expect: tongzhou-sql-string-formatting
        cursor.execute("SELECT * FROM t WHERE name = '{}'".format(name))  # expect: tongzhou-sql-string-formatting
        cursor.execute("SELECT * FROM t WHERE name = '" + name + "'")  # expect: tongzhou-sql-string-formatting
        cursor.executemany("INSERT INTO t VALUES (" + name + ")", [])  # expect: tongzhou-sql-string-formatting
        query = f"DELETE FROM t WHERE id = {ids}"
        cursor.execute(query)  # expect: tongzhou-sql-string-formatting
        cursor.execute("SELECT * FROM t WHERE name = %s", [name])
        cursor.execute("SELECT 1 " + "FROM t")
        constant = "SELECT 1"
        cursor.execute(constant)
    model.objects.raw(f"SELECT * FROM t WHERE id = {ids}")  # expect: tongzhou-sql-string-formatting
    model.objects.raw("SELECT * FROM t WHERE id = %s" % ids)  # expect: tongzhou-sql-string-formatting
    model.objects.raw("SELECT * FROM t WHERE id = %s", [ids])
    model.objects.annotate(x=RawSQL(f"SELECT {name}", ()))  # expect: tongzhou-sql-string-formatting
    model.objects.annotate(x=expressions.RawSQL("SELECT %s" % name, ()))  # expect: tongzhou-sql-string-formatting
    model.objects.annotate(x=RawSQL("SELECT %s", (name,)))
    model.objects.extra(where=["id = 1"])  # expect: tongzhou-queryset-extra
    model.objects.filter(name=name).order_by("id")
"""

TEMPLATE_SNIPPET = """\
<p>{{ message.text|safe }}</p> {# expect: tongzhou-template-safe-filter #}
<p>{{ items | safeseq|join:", " }}</p> {# expect: tongzhou-template-safe-filter #}
{% with shown=message.text|safe %}{{ shown }}{% endwith %} {# expect: tongzhou-template-safe-filter #}
{% filter safe %}{{ message.text }}{% endfilter %} {# expect: tongzhou-template-safe-filter #}
{% autoescape off %}{{ message.text }}{% endautoescape %} {# expect: tongzhou-template-autoescape-off #}
<p>{{ message.text|escape }} {{ safety }} {{ x|safe_name }}</p>
<p>Pipes in prose are fine: a|safe b.</p>
{% autoescape on %}{{ message.text }}{% endautoescape %}
"""

EXPECT = re.compile(r"expect: (tongzhou-[a-z-]+)")


def expected_findings(files: dict[str, str]) -> set[tuple[str, int, str]]:
    found = set()
    for path, text in files.items():
        for number, line in enumerate(text.splitlines(), start=1):
            for rule in EXPECT.findall(line):
                found.add((path, number, rule))
    return found


def test_each_rule_fires_on_bad_code_and_stays_quiet_on_good(tmp_path: Path) -> None:
    semgrep = shutil.which("semgrep")
    assert semgrep, "semgrep is not installed: pip install -e '.[test]'"
    files = {
        "src/tongzhou/chat/bad.py": PYTHON_SNIPPET,
        "src/tongzhou/chat/templates/chat/bad.html": TEMPLATE_SNIPPET,
        "src/tongzhou/templates/bad.html": TEMPLATE_SNIPPET,
        # Same markup outside a templates directory is not a Django template.
        "src/tongzhou/static/tongzhou/notes.html": TEMPLATE_SNIPPET.replace("expect", "ignore"),
    }
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")

    run = subprocess.run(
        [
            semgrep,
            "scan",
            "--metrics=off",
            "--disable-version-check",
            "--config",
            str(RULES),
            "--json",
            "--quiet",
            "src",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["errors"] == [], report["errors"]
    reported = {
        (r["path"], r["start"]["line"], r["check_id"].rsplit(".", 1)[-1]) for r in report["results"]
    }
    expected = expected_findings(files)
    assert reported - expected == set(), "flagged but not expected"
    assert expected - reported == set(), "expected but not flagged"

    rules = set(re.findall(r"^\s*- id: (\S+)", RULES.read_text(), flags=re.MULTILINE))
    assert all(rule.startswith(PREFIX) for rule in rules), rules
    assert {rule for _, _, rule in expected} == rules, "every rule needs a bad snippet here"
