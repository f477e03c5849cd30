"""Test settings: the real settings, made fast and deterministic."""

import os

os.environ.setdefault("LOCKSTEP_INSECURE_DEV_KEY", "true")
os.environ.setdefault("SECURE_HTTPS", "false")
os.environ.setdefault("STATIC_MANIFEST", "false")

from pipeline.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
WHITENOISE_AUTOREFRESH = True
