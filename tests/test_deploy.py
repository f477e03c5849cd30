"""The deployment files agree with the code: compose, Dockerfile, .env.example, lock, settings.

No Docker engine is needed: the files are parsed and every module, app and variable they name
is looked up in the project itself. Settings are exercised in subprocesses, because they are
read once per process.
"""

import importlib
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from celery import Celery
from celery.app.utils import find_app

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_SOURCE = (ROOT / "pipeline" / "settings.py").read_text()
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text()
DOCKERFILE = (ROOT / "Dockerfile").read_text()
RUN_SH = (ROOT / "scripts" / "run.sh").read_text()
GUNICORN_CONF = (ROOT / "gunicorn.conf.py").read_text()
ENV_EXAMPLE = (ROOT / ".env.example").read_text()
APP_SERVICES = ("web", "worker", "beat")
# Below this line .env.example lists variables for compose and gunicorn, not for settings.py.
COMPOSE_ONLY_MARKER = "# === Read by docker compose and the containers"


def settings_env_vars() -> set[str]:
    """Every environment variable pipeline/settings.py reads through its env_* helpers."""
    names = set(re.findall(r"env_(?:str|bool|int|list|secret)\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']", SETTINGS_SOURCE))
    # env_secret("X") also reads X_FILE.
    names |= {f"{n}_FILE" for n in re.findall(r"env_secret\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']", SETTINGS_SOURCE)}
    names |= set(re.findall(r"os\.environ(?:\.get)?[\[(]\s*[\"']([A-Z][A-Z0-9_]*)[\"']", SETTINGS_SOURCE))
    names |= set(re.findall(r"os\.getenv\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']", SETTINGS_SOURCE))
    return names


def env_example_vars() -> tuple[set[str], set[str]]:
    """(settings variables, compose-only variables) named in .env.example, set or commented out."""
    settings_part, _, compose_part = ENV_EXAMPLE.partition(COMPOSE_ONLY_MARKER)
    pattern = re.compile(r"^#?\s?([A-Z][A-Z0-9_]*)=", re.MULTILINE)
    return set(pattern.findall(settings_part)), set(pattern.findall(compose_part))


def command_words(service: str) -> list[str]:
    """The service's command as words; `sh -c "a && b"` is split into its inner words."""
    command = COMPOSE["services"][service]["command"]
    words = shlex.split(command) if isinstance(command, str) else list(command)
    if words[:2] == ["sh", "-c"]:
        words = shlex.split(words[2])
    return words


def gunicorn_config_and_target(words: list[str]) -> tuple[str | None, str]:
    """The -c file and the WSGI target of a gunicorn command line (words after `gunicorn`)."""
    words = words[words.index("gunicorn") + 1 :] if "gunicorn" in words else words
    config, target, i = None, None, 0
    while i < len(words):
        if words[i] in ("-c", "--config"):
            config, i = words[i + 1], i + 2
        elif words[i].startswith("-"):
            i += 2  # every other option here takes a value (--bind ADDRESS)
        else:
            target = target or words[i]
            i += 1
    return config, target


def resolve_gunicorn_target(target: str):
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr or "application")


def clean_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    """This process's environment without any variable settings.py reads, plus overrides."""
    env = {k: v for k, v in os.environ.items() if k not in settings_env_vars()}
    env.update(
        DJANGO_SETTINGS_MODULE="pipeline.settings",
        SQLITE_PATH=str(tmp_path / "db.sqlite3"),
        CELERY_BROKER_PATH=str(tmp_path / "broker.sqlite3"),
    )
    env.update(overrides)
    return env


# --- docker-compose.yml -------------------------------------------------------------------------


def test_compose_defines_the_five_services():
    assert set(COMPOSE["services"]) == {"postgres", "redis", "web", "worker", "beat"}
    assert COMPOSE["services"]["postgres"]["image"].startswith("postgres:16")
    assert COMPOSE["services"]["redis"]["image"].startswith("redis:7")


def test_app_services_run_one_image_built_from_the_dockerfile_with_env_file():
    images = set()
    for name in APP_SERVICES:
        service = COMPOSE["services"][name]
        assert service["build"] == ".", name
        assert service["env_file"] == ".env", name
        images.add(service["image"])
    assert len(images) == 1


def test_web_runs_migrate_then_gunicorn_on_the_real_wsgi_application():
    words = command_words("web")
    command = " ".join(words)
    assert command.index("manage.py migrate") < command.index("gunicorn")
    config, target = gunicorn_config_and_target(words)
    assert target == "pipeline.wsgi:application"
    assert callable(resolve_gunicorn_target(target))
    assert config == "gunicorn.conf.py"


def test_make_run_the_image_and_compose_share_one_gunicorn_configuration():
    assert (ROOT / "gunicorn.conf.py").is_file()
    run_line = next(line for line in RUN_SH.splitlines() if "bin/gunicorn" in line)
    assert gunicorn_config_and_target(
        shlex.split(run_line.rstrip(" &").replace('"$VENV/bin/gunicorn"', "gunicorn"))
    ) == (
        "gunicorn.conf.py",
        "pipeline.wsgi:application",
    )
    cmd = json.loads(re.findall(r"^CMD (\[.*\])$", DOCKERFILE, re.MULTILINE)[-1])
    assert gunicorn_config_and_target(cmd) == ("gunicorn.conf.py", "pipeline.wsgi:application")
    # Worker settings live in the file only, not on any command line.
    for words in (command_words("web"), cmd, shlex.split(run_line)):
        assert not {"--workers", "-w", "--threads", "--graceful-timeout", "-k"} & set(words), words


def test_docker_stop_waits_longer_than_gunicorn_drains():
    import runpy

    graceful = runpy.run_path(str(ROOT / "gunicorn.conf.py"))["graceful_timeout"]
    grace = COMPOSE["services"]["web"]["stop_grace_period"]
    assert re.fullmatch(r"\d+s", grace) and int(grace[:-1]) > graceful


@pytest.mark.parametrize(("service", "subcommand"), [("worker", "worker"), ("beat", "beat")])
def test_celery_services_point_at_the_project_celery_app(service, subcommand):
    words = command_words(service)
    assert words[0] == "celery"
    assert subcommand in words
    app = find_app(words[words.index("-A") + 1])
    assert isinstance(app, Celery)
    assert app is importlib.import_module("pipeline.celery").app


def test_postgres_redis_and_web_have_healthchecks():
    services = COMPOSE["services"]
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["redis"]["healthcheck"]["test"][-2:] == ["redis-cli", "ping"]
    web_probe = services["web"]["healthcheck"]["test"]
    # python:3.11-slim has no curl: the probe is Python, and it must at least compile.
    assert web_probe[:3] == ["CMD", "python", "-c"]
    assert "/health/" in web_probe[3]
    compile(web_probe[3], "web-healthcheck", "exec")


def test_dependencies_wait_for_healthy_services():
    services = COMPOSE["services"]
    assert services["web"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["web"]["depends_on"]["redis"]["condition"] == "service_healthy"
    for name in APP_SERVICES:
        for dependency, spec in services[name]["depends_on"].items():
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], f"{name} waits on {dependency}"


def test_health_endpoint_answers_without_login(client, db):
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


# --- environment variables -----------------------------------------------------------------------


def test_every_variable_settings_reads_is_documented_in_env_example():
    documented, _ = env_example_vars()
    assert settings_env_vars() - documented == set()


def test_env_example_and_compose_set_only_variables_settings_reads():
    documented, compose_only = env_example_vars()
    read = settings_env_vars()
    assert documented - read == set(), "documented in .env.example but not read by settings.py"
    for name in APP_SERVICES:
        assert set(COMPOSE["services"][name].get("environment", {})) - read == set(), name
    for var in compose_only:
        assert var in COMPOSE_TEXT or var in DOCKERFILE or var in GUNICORN_CONF, (
            f"{var} is used by neither compose, the Dockerfile nor gunicorn.conf.py"
        )


# --- Dockerfile and requirements.lock ------------------------------------------------------------


def test_dockerfile_installs_the_lock_collects_static_and_drops_root():
    assert re.search(r"^FROM python:3\.11-slim", DOCKERFILE, re.MULTILINE)
    assert re.search(r"^COPY requirements\.lock ", DOCKERFILE, re.MULTILINE)
    assert re.search(r"pip install (--\S+ )*-r requirements\.lock", DOCKERFILE)
    assert "manage.py collectstatic --noinput" in DOCKERFILE
    user = re.findall(r"^USER (\S+)", DOCKERFILE, re.MULTILINE)
    assert user and user[-1] not in {"root", "0"}
    cmd = json.loads(re.findall(r"^CMD (\[.*\])$", DOCKERFILE, re.MULTILINE)[-1])
    assert cmd[0] == "gunicorn"
    assert callable(resolve_gunicorn_target(gunicorn_config_and_target(cmd)[1]))


def test_requirements_lock_pins_every_declared_dependency_exactly():
    import tomllib

    lines = [
        line.strip()
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    pins = {}
    for line in lines:
        assert re.fullmatch(r"[A-Za-z0-9._-]+==[A-Za-z0-9.+!-]+", line), f"not an exact pin: {line}"
        name, version = line.split("==")
        pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"] + project["optional-dependencies"]["dev"]:
        name = re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9._-]+", requirement).group()).lower()
        assert name in pins, f"{requirement} is declared in pyproject.toml but not pinned"


# --- settings refuse bad values ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DEBUG", "maybe"),
        ("DATABASE_URL", "garbage"),
        ("CELERY_TASK_TIME_LIMIT", "soon"),
        ("LOCKSTEP_CURRENCY", "euros"),
    ],
)
def test_settings_fail_loudly_on_a_bad_value(tmp_path, variable, value):
    env = clean_env(tmp_path, SECRET_KEY="x" * 60, **{variable: value})
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; settings.DEBUG"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr


def test_postgresql_connections_run_without_jit_and_sort_in_memory(tmp_path):
    env = clean_env(tmp_path, SECRET_KEY="x" * 60, DATABASE_URL="postgres://u@db.example:5432/lockstep")
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.DATABASES['default']['OPTIONS'])"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "-c jit=off -c work_mem=16MB" in result.stdout


def test_settings_refuse_to_start_without_a_secret_key_when_debug_is_off(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; settings.DEBUG"],
        cwd=ROOT,
        env=clean_env(tmp_path, DEBUG="false"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_check_deploy_with_production_settings_has_no_warnings(tmp_path):
    env = clean_env(
        tmp_path,
        SECRET_KEY="k3y-" + "a1B2c3D4e5F6g7H8" * 4,
        DEBUG="0",
        SECURE_HTTPS="1",
        ALLOWED_HOSTS="lockstep.example.com",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNING" not in output.upper(), output
    assert "no issues" in result.stdout
