"""Imports flow one way: `people` and `stages` ← `opportunities` ← `pipeline`, `postmortem` and `roi`.

Every Python module of an app (migrations aside) is parsed, and each import of another app of
the project must point down the layers; apps on the same layer stay out of each other. A lower
app's templates name no higher app's template or URL either. Where a lower page shows something
a higher app owns (a deal's open flags), the higher app registers it (`opportunities.hooks`).

The project wiring at `pipeline/`'s top (settings, urls, Celery, wsgi) assembles every app and
may name any of them.
"""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# app → layer; an app may import the apps on lower layers only.
LAYERS = {
    "people": 0,
    "stages": 0,
    "opportunities": 1,
    "pipeline": 2,
    "postmortem": 2,
    "aids": 2,
    "roi": 2,
    "guidance": 3,
    "transfer": 3,
    "recommendations": 3,
}

WIRING = {
    "pipeline/__init__.py",
    "pipeline/celery.py",
    "pipeline/settings.py",
    "pipeline/settings_test.py",
    "pipeline/urls.py",
    "pipeline/wsgi.py",
}


def modules():
    for app in LAYERS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "/migrations/" not in relative and relative not in WIRING:
                yield app, relative, path


# A string naming a model, template or URL of an app: "pipeline.Flag", "pipeline/_flags.html",
# "pipeline:dashboard", "board:index" (the board's URL namespace belongs to pipeline). Celery task
# names are only names: tasks that moved keep the name they were queued under ("pipeline.tasks.…").
NAMED = re.compile(rf"^({'|'.join(LAYERS)})(?:[:/]|\.(?!tasks\.))\w|^(board):\w")


def imported_apps(path: Path) -> set[tuple[str, int]]:
    """(app, line) for each absolute import of a project app in the module, and for each string
    that names one of its models, templates or URLs."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and (named := NAMED.match(node.value)):
            found.add(("pipeline" if named.group(2) else named.group(1), node.lineno))
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {(name.split(".")[0], node.lineno) for name in names if name.split(".")[0] in LAYERS}
    return found


def violations(app: str, imports) -> list[str]:
    return [
        f"imports {other} (line {line})"
        for other, line in sorted(imports)
        if other != app and LAYERS[other] >= LAYERS[app]
    ]


def test_the_check_sees_every_app_and_catches_an_upward_import(tmp_path):
    assert {app for app, _, _ in modules()} == set(LAYERS)
    upward = tmp_path / "upward.py"
    upward.write_text(
        "import os\nfrom pipeline.models import Flag\nfrom . import models\nimport stages.models\n"
        'TEMPLATE = "postmortem/review.html"\nredirect("board:index")\n'
    )
    assert violations("opportunities", imported_apps(upward)) == [
        "imports pipeline (line 2)",
        "imports pipeline (line 6)",
        "imports postmortem (line 5)",
    ]
    assert violations("people", imported_apps(upward))[-1] == "imports stages (line 4)"


@pytest.mark.parametrize(("app", "module", "path"), list(modules()), ids=lambda v: v if isinstance(v, str) else "")
def test_imports_point_down_the_layers(app, module, path):
    assert violations(app, imported_apps(path)) == [], module


# A template of a lower app that includes, extends or links into a higher app.
HIGHER_REFERENCE = re.compile(r"""["'](?:pipeline|postmortem|transfer|aids|roi)[/:]|["']board:""")


@pytest.mark.parametrize("app", [app for app, layer in LAYERS.items() if layer < 2])
def test_lower_templates_name_no_higher_template_or_url(app):
    offending = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in sorted((ROOT / "templates" / app).rglob("*.html"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if HIGHER_REFERENCE.search(line)
    ]
    assert offending == []
