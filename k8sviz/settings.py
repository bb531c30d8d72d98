"""Django settings for k8sviz.

Every setting that differs between machines comes from the environment, read here and only here:

- ``DATABASE_URL``: defaults to the embedded SQLite file ``var/db.sqlite3``.
- ``REDIS_URL``: defaults to the embedded Redis that ``manage.py runstack`` (and the test suite)
  start on a private loopback port; its URL is recorded in ``var/redis.url``.
- ``DJANGO_SECRET_KEY``, ``DJANGO_DEBUG``, ``DJANGO_ALLOWED_HOSTS``.
- ``K8SVIZ_API_PORT``: the HTTPS port of the Kubernetes-style API (kube-apiserver's 6443).
- ``K8SVIZ_API_HOST``, ``K8SVIZ_API_URL``: the address that port listens on (loopback by
  default) and the URL kubeconfigs name (docs/classroom.md, "kubectl in the classroom").
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

from k8sviz import embedded

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("K8SVIZ_VAR_DIR", BASE_DIR / "var"))

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or embedded.secret_key(VAR_DIR)
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "cluster",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "k8sviz.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


ASGI_APPLICATION = "k8sviz.asgi.application"

# --- Database -----------------------------------------------------------------------------
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=0,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server, the Celery worker and beat all write: WAL, a busy timeout and IMMEDIATE
    # transactions keep writers from failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: Celery broker and the channel layer ---------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL") or embedded.redis_url(VAR_DIR)

CHANNEL_LAYERS = {
    "default": {
        # Every process must use this same class: RedisChannelLayer and RedisPubSubChannelLayer
        # do not see each other's messages.
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "capacity": 1500, "expiry": 10},
    }
}

CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_LATE = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Wall seconds between reconcile ticks; each tick advances every running cluster's clock.
K8SVIZ_TICK_SECONDS = float(os.environ.get("K8SVIZ_TICK_SECONDS", "0.5"))

# Cluster size limits, so that one cluster (one student's sandbox) cannot starve the server.
K8SVIZ_MAX_NODES = int(os.environ.get("K8SVIZ_MAX_NODES", "1000"))
K8SVIZ_MAX_PODS = int(os.environ.get("K8SVIZ_MAX_PODS", "20000"))
K8SVIZ_MAX_CLUSTERS = int(os.environ.get("K8SVIZ_MAX_CLUSTERS", "500"))

# Who gets in (cluster/access.py, docs/classroom.md). On (the default: one person on their own
# machine) anybody may use clusters nobody owns, such as the demo; off (K8SVIZ_OPEN_ACCESS=0, a
# shared classroom server) only signed-in teachers and admins, and the students and projectors
# of their classes, get in.
K8SVIZ_OPEN_ACCESS = os.environ.get("K8SVIZ_OPEN_ACCESS", "1").lower() not in ("0", "false", "no")
# Rate limits (per minute): joining a class (per client address) and dashboard actions (per
# identity: user, student or session).
# A student's sandbox is smaller than a teacher's cluster: nodes, desired pods, objects created
# through the API or the dashboard, clock speed.
K8SVIZ_SANDBOX_MAX_NODES = int(os.environ.get("K8SVIZ_SANDBOX_MAX_NODES", "10"))
K8SVIZ_SANDBOX_MAX_PODS = int(os.environ.get("K8SVIZ_SANDBOX_MAX_PODS", "200"))
K8SVIZ_SANDBOX_MAX_OBJECTS = int(os.environ.get("K8SVIZ_SANDBOX_MAX_OBJECTS", "1000"))
K8SVIZ_SANDBOX_MAX_SPEED = float(os.environ.get("K8SVIZ_SANDBOX_MAX_SPEED", "10"))
K8SVIZ_MAX_STUDENTS = int(os.environ.get("K8SVIZ_MAX_STUDENTS", "300"))
K8SVIZ_JOIN_RATE = int(os.environ.get("K8SVIZ_JOIN_RATE", "10"))
K8SVIZ_ACTION_RATE = int(os.environ.get("K8SVIZ_ACTION_RATE", "120"))

# The Kubernetes-style API's TLS port (runstack serves it, kubeconfigs name it), the interface
# it listens on (0.0.0.0 for a classroom server whose students run kubectl on their laptops),
# and the URL kubeconfigs name ("" = https://127.0.0.1:<port>); the serving certificate covers
# that URL's host.
K8SVIZ_API_PORT = int(os.environ.get("K8SVIZ_API_PORT", "6443"))
K8SVIZ_API_HOST = os.environ.get("K8SVIZ_API_HOST", "127.0.0.1")
K8SVIZ_API_URL = os.environ.get("K8SVIZ_API_URL", "").rstrip("/")
# How often a watch with allowWatchBookmarks=true gets a BOOKMARK (kube-apiserver: ~1 min).
K8SVIZ_WATCH_BOOKMARK_SECONDS = float(os.environ.get("K8SVIZ_WATCH_BOOKMARK_SECONDS", "60"))

# --- Auth, i18n, static -------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "cluster:classes"
LOGOUT_REDIRECT_URL = "cluster:index"
# Behind HTTPS (K8SVIZ_HTTPS=1, or a proxy that sets X-Forwarded-Proto), cookies are Secure.
K8SVIZ_HTTPS = os.environ.get("K8SVIZ_HTTPS", "").lower() in ("1", "true", "yes")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = K8SVIZ_HTTPS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
if K8SVIZ_HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("K8SVIZ_LOG_LEVEL", "WARNING")},
    "loggers": {"cluster": {"level": os.environ.get("K8SVIZ_LOG_LEVEL", "INFO")}},
}
