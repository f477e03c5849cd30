"""Lockstep settings: one module, driven by environment variables.

Every setting that may differ between machines is read from the environment through the
helpers below, which refuse bad values loudly instead of guessing. Nothing exists only in
production; DEBUG is off unless asked for. `.env.example` documents every variable.
"""

import datetime as dt
import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use true/false, 1/0, yes/no).")


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below the minimum of {minimum}.")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name}={value} is above the maximum of {maximum}.")
    return value


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_rate(name: str, default: str) -> str:
    """A DRF throttle rate, "<count>/<second|minute|hour|day>", checked here so a typo fails at start."""
    raw = os.environ.get(name) or default
    count, _, period = raw.partition("/")
    if not count.isdigit() or int(count) < 1 or period not in {"second", "minute", "hour", "day", "s", "m", "h", "d"}:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a rate like 600/minute.")
    return raw


def env_secret(name: str, default: str | None = None) -> str | None:
    """Read a secret from NAME, or from the file named by NAME_FILE (Docker secrets)."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_name!r} cannot be read: {exc}") from exc
    return os.environ.get(name, default)


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_secret("SECRET_KEY")
if not SECRET_KEY:
    if DEBUG or env_bool("LOCKSTEP_INSECURE_DEV_KEY", False):
        # Local development only: `make run` sets DEBUG, production must set SECRET_KEY.
        SECRET_KEY = "insecure-development-key-do-not-use-in-production-0123456789"
    else:
        raise ImproperlyConfigured("SECRET_KEY must be set (or SECRET_KEY_FILE) when DEBUG is off.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # The search's trigram and full-text lookups and operator-class indexes (opportunities.search);
    # it registers them on every database and does nothing else on SQLite.
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "django_htmx",
    "axes",
    "people",
    "pipeline",
    "stages",
    "opportunities",
    "postmortem",
    "transfer",
    "aids",
    "roi",
    "recommendations",
    "guidance",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "pipeline.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "pipeline.middleware.AdminForStaffOnlyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # With DEBUG on, Django's technical error pages (URL list, tracebacks, settings) for staff only.
    # After Common and Authentication middleware, before django-axes (which asks to be last).
    "pipeline.middleware.TechnicalErrorPagesOnlyForStaffMiddleware",
    # Last, as django-axes asks: it turns a sign-in refused for too many failures into a 429.
    "axes.middleware.AxesMiddleware",
]

# django-axes first: it refuses a locked-out username or address before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "pipeline.urls"
WSGI_APPLICATION = "pipeline.wsgi.application"
AUTH_USER_MODEL = "people.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "opportunities:my_deals"
LOGOUT_REDIRECT_URL = "login"

PIPELINE_FEATURES = ("health", "notify", "board", "reports", "processes")

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Each feature of the pipeline app keeps its templates beside its code, under the same names
        # ("pipeline/board.html"); one Django app, so they are listed here.
        "DIRS": [BASE_DIR / "templates", *(BASE_DIR / "pipeline" / f / "templates" for f in PIPELINE_FEATURES)],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "pipeline.context_processors.lockstep",
            ],
        },
    }
]

# --- Database -------------------------------------------------------------------------------
# Embedded default: SQLite in WAL mode with IMMEDIATE transactions, so the web server and the
# Celery worker writing at the same time wait for each other instead of failing with
# "database is locked" (a deferred transaction cannot be upgraded to a write lock safely).
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    try:
        # Connections are kept for DB_CONN_MAX_AGE seconds; the health check at the start of each
        # request replaces one the server closed meanwhile (restart, failover), where reusing it
        # would fail that request with "server closed the connection unexpectedly".
        DATABASES = {
            "default": dj_database_url.parse(
                DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True
            )
        }
    except Exception as exc:  # dj_database_url raises several types for garbage input
        raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from exc
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # PostgreSQL's JIT compiler decides by estimated cost: the dashboard's aggregates over a
        # quarter's history look expensive enough to compile, and compiling them takes longer
        # than running them. Queries here are short; none gains from it. The medians sort a
        # quarter's stage exits: 16 MB keeps that sort in memory (the server's default spills it
        # to disk); it is a per-sort ceiling, not an allocation. Measurements: bench/README.md.
        options = DATABASES["default"].setdefault("OPTIONS", {})
        options["options"] = f"-c jit=off -c work_mem=16MB {options.get('options', '')}".strip()
else:
    SQLITE_PATH = Path(env_str("SQLITE_PATH", str(BASE_DIR / "var" / "lockstep.sqlite3")))
    SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": SQLITE_PATH,
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": ("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"),
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Celery ---------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
else:
    CELERY_BROKER_PATH = Path(env_str("CELERY_BROKER_PATH", str(BASE_DIR / "var" / "celery-broker.sqlite3")))
    CELERY_BROKER_PATH.parent.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = f"sqla+sqlite:///{CELERY_BROKER_PATH}"
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 600, minimum=1)
CELERY_TASK_SOFT_TIME_LIMIT = max(1, CELERY_TASK_TIME_LIMIT - 30)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A page must never hang because the broker is down: publishing gives up quickly.
CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_TIMEZONE = "UTC"
# Lets several installations (or concurrent end-to-end test runs) share one Redis.
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_DEFAULT_QUEUE", "celery")
# Hour of the day (in CELERY_TIMEZONE, UTC) at which the daily digest emails go out.
DIGEST_HOUR = env_int("DIGEST_HOUR", 7, minimum=0, maximum=23)
CELERY_BEAT_SCHEDULE_FILENAME = str(BASE_DIR / "var" / "celerybeat-schedule")
# Minutes between pipeline-health sweeps: a divisor of 60 gives even gaps (with 7, the run at
# :56 is followed by :00).
SWEEP_EVERY_MINUTES = env_int("SWEEP_EVERY_MINUTES", 15, minimum=1, maximum=59)
# Hours after which a sweep evaluates every open deal again rather than only the deals changed
# through the services and those a time threshold crossed: the reconciliation that catches the
# writes that bypass the services (a script, raw SQL, a bulk load).
SWEEP_FULL_EVERY_HOURS = env_int("SWEEP_FULL_EVERY_HOURS", 24, minimum=1)
CELERY_BEAT_SCHEDULE: dict = {
    # https://crontab.guru/#*/15_*_*_*_* (SWEEP_EVERY_MINUTES=15): flag stalled deals, notify
    # people. Idempotent, and a second beat's run waits for or skips the first (see the sweep).
    "sweep-pipeline": {
        "task": "pipeline.tasks.sweep_pipeline",
        "schedule": crontab(minute=f"*/{SWEEP_EVERY_MINUTES}"),
        # A run that could not start before the next one is due is dropped, not piled up.
        "options": {"expires": SWEEP_EVERY_MINUTES * 60 * 9 // 10},
    },
    # https://crontab.guru/#0_7_*_*_* (DIGEST_HOUR=7): the daily digest to owners and managers.
    # Sending is claimed per person and day, so a late or repeated run cannot send twice.
    "send-daily-digests": {
        "task": "pipeline.tasks.send_daily_digests",
        "schedule": crontab(minute=0, hour=DIGEST_HOUR),
        "options": {"expires": 60 * 60 * 23},
    },
    # https://crontab.guru/#30_*_*_*_*: hourly, notify what other apps remind people of
    # (overdue post-mortems). A reminder is notified once, so a repeated run changes nothing.
    "send-reminders": {
        "task": "pipeline.tasks.send_reminders",
        "schedule": crontab(minute=30),
        "options": {"expires": 50 * 60},
    },
    # https://crontab.guru/#15_2_*_*_*: nightly, recount what won and lost deals did before
    # leaving each stage (the recommendations' evidence). Unchanged counts are left alone, so a
    # repeated run changes nothing.
    "refresh-recommendation-stats": {
        "task": "recommendations.tasks.refresh_recommendation_stats",
        "schedule": crontab(minute=15, hour=2),
        "options": {"expires": 60 * 60 * 20},
    },
    # https://crontab.guru/#45_2_*_*_*: nightly, half an hour after the recount above, retrain
    # the win model on the closed deals and rescore every open deal. The same closed deals give
    # the same model, and an unchanged signal is not rewritten, so a repeated run changes nothing.
    "guidance-retrain-and-score": {
        "task": "guidance.tasks.retrain_and_score",
        "schedule": crontab(minute=45, hour=2),
        "options": {"expires": 60 * 60 * 20},
    },
}

# --- Caches and sessions ----------------------------------------------------------------------
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Security ---------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_HTTPS = env_bool("SECURE_HTTPS", not DEBUG)
SESSION_COOKIE_SECURE = SECURE_HTTPS
CSRF_COOKIE_SECURE = SECURE_HTTPS
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", SECURE_HTTPS)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if SECURE_HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Preloading is a one-way commitment for the whole domain, so it stays an explicit opt-in
# (SECURE_HSTS_PRELOAD=true) and `check --deploy` does not nag about leaving it off.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
# Reverse proxies in front of the app that set X-Forwarded-For (and X-Forwarded-Proto).
# BEHIND_PROXY=true alone means one; 0 means none: the client's address is then the
# connection's, and those headers, which anybody can send, are ignored.
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 1 if BEHIND_PROXY else 0, minimum=0, maximum=10)
if BEHIND_PROXY and TRUSTED_PROXY_COUNT == 0:
    raise ImproperlyConfigured("BEHIND_PROXY=true needs TRUSTED_PROXY_COUNT of at least 1 (or leave it unset).")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXY_COUNT else None
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
)

# Failed password checks (django-axes): after LOGIN_FAILURE_LIMIT failures for one username, or
# from one address, further attempts are refused until LOGIN_COOLOFF_SECONDS have passed since
# the last failure. Refused attempts do not extend the cool-off. Hooks: people/signin.py.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = dt.timedelta(seconds=env_int("LOGIN_COOLOFF_SECONDS", 900, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_USERNAME_CALLABLE = "people.signin.throttle_username"
AXES_LOCKOUT_CALLABLE = "people.signin.lockout_response"
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# A successful sign-in forgives that username's failures, not the address's (services.py).
AXES_RESET_ON_SUCCESS = False
# No row per successful sign-in: nothing reads it, and it would grow without end.
AXES_DISABLE_ACCESS_LOG = True
# The client's address, as ipware finds it: behind N trusted proxies, the N-th entry from the
# right of X-Forwarded-For (ipware counts the proxies listed in the header, the last one being
# REMOTE_ADDR itself). Not strict, so entries a client sent ahead of the proxies' are ignored
# rather than voiding the whole header.
AXES_IPWARE_PROXY_COUNT = TRUSTED_PROXY_COUNT - 1 if TRUSTED_PROXY_COUNT else None
AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR") if TRUSTED_PROXY_COUNT else ("REMOTE_ADDR",)
IPWARE_STRICT = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Locale, money ----------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
# One currency per installation.
LOCKSTEP_CURRENCY = env_str("LOCKSTEP_CURRENCY", "EUR").upper()
if len(LOCKSTEP_CURRENCY) != 3 or not LOCKSTEP_CURRENCY.isalpha():
    raise ImproperlyConfigured(f"LOCKSTEP_CURRENCY={LOCKSTEP_CURRENCY!r} is not a 3-letter currency code.")

# --- Static files and email ---------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# Uploaded files (the imports' original files), served only through views that check access.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("STATIC_MANIFEST", not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG
# Uploaded sales aids. No URL serves this directory: each file goes out through a view that
# checks who may see it (aids.views.aid_file), so MEDIA_URL is deliberately not routed.
MEDIA_ROOT = env_str("MEDIA_ROOT", str(BASE_DIR / "var" / "media"))

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(BASE_DIR / "var" / "mail"))
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD", "") or ""
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Lockstep <lockstep@localhost>")

# --- API ----------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Personal tokens (people.tokens) for programs, the session for the browser. No HTTP Basic: a
    # password is checked at the sign-in form alone, where it is throttled.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "people.tokens.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "people.tokens.TokenScopeAllows",
    ],
    # Per token when a token is used, else per user (pipeline.api.throttling); 429 with Retry-After.
    "DEFAULT_THROTTLE_CLASSES": [
        "pipeline.api.throttling.TokenRateThrottle",
        "pipeline.api.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "token": env_rate("API_RATE_PER_TOKEN", "600/minute"),
        "user": env_rate("API_RATE_PER_USER", "1200/minute"),
    },
    # DRF's JSON parser, plus a 400 for bodies nested too deeply (see opportunities/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "opportunities.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Lockstep API",
    "VERSION": "1.0.0",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "pipeline.api.schema.document_refusals",
        "pipeline.api.schema.document_concurrency",
    ],
    # Inputs named "status" take different choices (a deal's, an account's, a competitor's on a
    # deal): each enum gets its own name instead of a hash-suffixed one.
    "ENUM_NAME_OVERRIDES": {
        "DealCompetitorStatusEnum": "opportunities.models.DealCompetitorStatus",
        "OpportunityStatusEnum": "opportunities.models.OpportunityStatus",
        "AccountStatusEnum": "opportunities.models.AccountStatus",
        "BuyingRoleEnum": "opportunities.models.BuyingRole",
        "LeadSourceEnum": "opportunities.models.LeadSource",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
