"""Settings, all read from the environment.

Defaults are for the embedded, single-machine setup (`make run`): SQLite under
`var/` and a Celery broker on the local filesystem. Setting `DATABASE_URL` and
`REDIS_URL` switches to PostgreSQL and Redis. Nothing here is a production
secret: without `DJANGO_SECRET_KEY` a random key is generated once into
`var/secret_key`.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from mes import brokers

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

VAR_DIR = Path(env.str("MES_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


# Keys published in examples and tutorials: whoever has read them can sign sessions.
PLACEHOLDER_SECRET_KEYS = frozenset(
    {"change-me-to-a-long-random-string-of-at-least-fifty-characters", "build-only"}
)
PLACEHOLDER_SECRET_MARKERS = ("change-me", "changeme", "change_me", "django-insecure", "secret-key")
MIN_SECRET_KEY_LENGTH = 50


def _secret_key_problem(key: str) -> str | None:
    """Why a configured key must not sign anything in production, or ``None``."""
    lowered = key.casefold()
    if key in PLACEHOLDER_SECRET_KEYS or any(m in lowered for m in PLACEHOLDER_SECRET_MARKERS):
        return "is a published placeholder"
    if len(key) < MIN_SECRET_KEY_LENGTH or len(set(key)) < 5:
        return f"is shorter than {MIN_SECRET_KEY_LENGTH} characters or not random"
    return None


def _secret_key() -> str:
    """The configured key, or one generated once per machine for development.

    With ``DEBUG`` off, a placeholder (``.env.example``'s) or a short key stops
    the start: a copied example would otherwise sign sessions with a public key.
    """
    configured = env.str("DJANGO_SECRET_KEY", default="")
    if configured:
        problem = _secret_key_problem(configured)
        if problem and not env.bool("DJANGO_DEBUG", default=False):
            raise ImproperlyConfigured(
                f"DJANGO_SECRET_KEY {problem}: set 50 or more random characters, e.g. "
                "python -c 'import secrets; print(secrets.token_urlsafe(64))'"
            )
        return configured
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(64))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env.bool("DJANGO_DEBUG", default=False)
# Factory local time: schedules (the 02:00 reconciliation), shifts, reports.
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# Behind TLS (a reverse proxy or a load balancer) every cookie is secure and
# browsers are told to stay on HTTPS. Off by default because `make run` serves
# plain HTTP on localhost, where secure cookies would make login impossible.
HTTPS = env.bool("MES_HTTPS", default=False)
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content Security Policy (django-csp): scripts and styles only from our own
# static files, never inline; nothing may frame the app. The floor's service
# worker and the API docs' init script are files too (docs/security.md).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "worker-src": [SELF],
        "manifest-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

INSTALLED_APPS = [
    "releases",
    "inventory",
    "workorders",
    "planning",
    "quality",
    "floor",
    "integrations",
    "monitoring",
    "simulation",
    "drills",
    "mes.apps.MesAdminConfig",  # django.contrib.admin, its index grouped (mes/admin_site.py)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_celery_beat",
    "axes",
    "csp",
    "auditlog",
    "waffle",  # feature flags; the flag model is releases.Flag (docs/releases.md)
    # Last, so that its post_migrate hook sees every other app's permissions.
    "mes.apps.MesConfig",
]

MIDDLEWARE = [
    # mes.token_api_middleware: the same middleware, passed by token-signed API calls.
    "monitoring.middleware.RequestMetricsMiddleware",
    "mes.request_context.RequestContextMiddleware",
    # While a release or a rollback runs, writes answer 503 REL-001 (docs/releases.md).
    "releases.middleware.WritesPausedMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "mes.token_api_middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "mes.token_api_middleware.AuthenticationMiddleware",
    # A floor sign-in (badge or PIN) opens the floor only; revoking its device ends it.
    "floor.middleware.FloorSessionMiddleware",
    # Before any middleware reads the body (the CSRF check reads the form).
    "mes.security.RequestSizeLimitMiddleware",
    "mes.request_context.RequestUserMiddleware",
    # Requests and errors per user, compared by the gray release's automatic halt.
    "releases.middleware.UserActivityMiddleware",
    "mes.token_api_middleware.WaffleMiddleware",
    # Puts the signed-in user on audit-log entries (mes/audit.py).
    "auditlog.middleware.AuditlogMiddleware",
    "mes.token_api_middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "mes.token_api_middleware.CSPMiddleware",
    "mes.token_api_middleware.HtmxMiddleware",
    # After django_htmx's: an expired session sends htmx requests to the login page.
    "mes.token_api_middleware.HtmxLoginRedirectMiddleware",
    # Last, as django-axes asks: it answers a locked-out sign-in.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "mes.urls"
WSGI_APPLICATION = "mes.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
DATABASES = {
    "default": env.db_url(
        "DATABASE_URL", default=f"sqlite:///{(VAR_DIR / 'mes.sqlite3').as_posix()}"
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the web app, the worker and beat share one file; the busy
        # timeout makes a writer wait for the lock instead of failing at once.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
    }
    # A file, not memory, so that tests with threads and subprocesses share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test_mes.sqlite3")}
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
IS_POSTGRES = DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql")

# --- Redis / Celery ---------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
BROKER_DIR = VAR_DIR / "broker"
# The broker is chosen apart from REDIS_URL (mes/brokers.py, docs/brokers.md):
# CELERY_BROKER_URL or BROKER_URL, else Redis when REDIS_URL is set, else the filesystem.
CELERY_BROKER_URL = brokers.broker_url_from(
    env.str("CELERY_BROKER_URL", default=""), env.str("BROKER_URL", default=""), REDIS_URL
)
BROKER_KIND = brokers.broker_kind(CELERY_BROKER_URL)
CELERY_BROKER_TRANSPORT_OPTIONS = brokers.transport_options(BROKER_KIND, BROKER_DIR)
CELERY_TASK_DEFAULT_QUEUE = brokers.TASK_QUEUE
if BROKER_KIND == brokers.RABBITMQ:
    # Durable quorum queues, a topic exchange (native delayed delivery for countdowns)
    # and a dead-letter exchange for a task handed out more than the delivery limit.
    CELERY_TASK_QUEUES = brokers.rabbitmq_task_queues(
        delivery_limit=env.int("MES_BROKER_DELIVERY_LIMIT", default=brokers.DEFAULT_DELIVERY_LIMIT)
    )
    CELERY_TASK_DEFAULT_EXCHANGE = brokers.TASK_EXCHANGE
    CELERY_TASK_DEFAULT_EXCHANGE_TYPE = "topic"
    CELERY_TASK_DEFAULT_ROUTING_KEY = brokers.TASK_QUEUE
    CELERY_TASK_DEFAULT_QUEUE_TYPE = "quorum"
    # A queue named on the command line (celery worker -Q) is a quorum queue too.
    CELERY_TASK_CREATE_MISSING_QUEUE_TYPE = "quorum"
    CELERY_TASK_CREATE_MISSING_QUEUE_EXCHANGE_TYPE = "topic"
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        },
        # API rate-limit counters (mes/throttling.py), shared by every web worker.
        "throttle": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "throttle",
        },
        # Task start counts (mes/task_guard.py): must outlive a killed worker process.
        "tasks": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "tasks",
        },
        # What every process must see alike (mes/hot_cache.py's generation).
        "shared": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "shared",
        },
    }
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "throttle": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "throttle",
        },
        # Files, not memory: a worker process that dies takes its memory with it.
        "tasks": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache" / "tasks"),
        },
        "shared": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache" / "shared"),
        },
    }

# Crontab schedules (the 02:00 reconciliation) are in factory local time.
CELERY_TIMEZONE = TIME_ZONE
# A request must not hang while the broker is down: publishing gives up fast
# and the outbox sweeper enqueues what could not be sent.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Every task has time limits: these, or its own where it needs longer (a test checks
# each registered task). The hard limit stays below the Redis visibility timeout.
CELERY_TASK_SOFT_TIME_LIMIT = env.int("MES_TASK_SOFT_TIME_LIMIT", default=120)
CELERY_TASK_TIME_LIMIT = env.int("MES_TASK_TIME_LIMIT", default=180)
CELERY_TASK_ACKS_ON_FAILURE_OR_TIMEOUT = True
# A task whose worker process died this many times on it is set aside, not delivered
# again (mes/task_guard.py: a record and a SYS-005 incident).
TASK_MAX_WORKER_DEATHS = env.int("MES_TASK_MAX_WORKER_DEATHS", default=3)
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {
        "task": "monitoring.heartbeat",
        "schedule": env.float("MES_HEARTBEAT_SECONDS", default=30.0),
    },
    "outbox-sweeper": {
        "task": "integrations.sweep_outbox",
        "schedule": env.float("MES_OUTBOX_SWEEP_SECONDS", default=60.0),
    },
    "resource-sampling": {"task": "monitoring.sample_resources", "schedule": 60.0},
    "incident-escalation": {"task": "monitoring.escalate_incidents", "schedule": 60.0},
    # Node thresholds, inbound silence, checked endpoints (docs/monitoring.md).
    "alert-checks": {"task": "monitoring.check_alerts", "schedule": 60.0},
    "stall-check": {"task": "monitoring.check_stalls", "schedule": 300.0},
    # Flow KPIs: store closed days, recompute those late events touched (docs/monitoring.md).
    "kpi-days": {"task": "monitoring.refresh_kpi_days", "schedule": 300.0},
    # Feature-flag ramps: the automatic halt, then the due steps (docs/releases.md).
    "flag-ramps": {"task": "releases.flag_ramps", "schedule": 60.0},
    "weekly-stability-report": {
        "task": "monitoring.weekly_stability_report",
        "schedule": crontab(hour=8, minute=0, day_of_week="mon"),
    },
}

# Outbox delivery: how long a worker's claim on a message outlives the node's
# timeout, and how long past due a message must be before the sweeper
# re-enqueues it (its own task should have run by then).
OUTBOX_CLAIM_MARGIN_SECONDS = env.float("MES_OUTBOX_CLAIM_MARGIN_SECONDS", default=30.0)
OUTBOX_SWEEP_GRACE_SECONDS = env.float("MES_OUTBOX_SWEEP_GRACE_SECONDS", default=60.0)
# Uploads: the largest file imported or compared, the largest request body (two
# snapshot files fit), and what an XLSX may unpack to before it is opened: in all,
# and per part as a compression ratio (real sheets: 5-20 to 1; an 8 MB zip bomb that
# unpacks to 2 GB: 250 to 1).
IMPORT_MAX_BYTES = env.int("MES_IMPORT_MAX_BYTES", default=20 * 1024 * 1024)
REQUEST_MAX_BYTES = env.int("MES_REQUEST_MAX_BYTES", default=2 * IMPORT_MAX_BYTES + 1024 * 1024)
XLSX_MAX_UNCOMPRESSED_BYTES = env.int("MES_XLSX_MAX_UNCOMPRESSED_BYTES", default=512 * 1024 * 1024)
XLSX_MAX_COMPRESSION_RATIO = env.float("MES_XLSX_MAX_RATIO", default=100.0)
# The import task's soft time limit (its hard limit is a minute later).
IMPORT_SOFT_TIME_LIMIT = env.int("MES_IMPORT_SOFT_TIME_LIMIT", default=1500)
# More differences than this in one reconciliation run raise a B incident.
RECONCILIATION_INCIDENT_THRESHOLD = env.int("MES_RECONCILIATION_INCIDENT_THRESHOLD", default=50)

# --- Auth -------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Brute-force protection (django-axes): five failed sign-ins for one user name
# from one address lock that pair for 15 minutes. The axes backend comes first
# and only counts and refuses; the model backend checks the password.
AUTHENTICATION_BACKENDS = [
    "mes.security.LockoutBackend",
    "mes.permissions.CachedPermissionsBackend",
]
# Seconds a web process keeps a user's permission sets (mes/permissions.py); 0 = off.
MES_PERMISSION_CACHE_SECONDS = env.int("MES_PERMISSION_CACHE_SECONDS", default=30)
# Tokens, materials, locations, nodes and recovery claims kept per web process
# (mes/hot_cache.py); a change reaches every process by its next request, this is
# the limit for writes that send no signal. 0 turns the caches off.
MES_HOT_CACHE_SECONDS = env.int("MES_HOT_CACHE_SECONDS", default=60)
# Seconds the home page keeps its plant-wide panels (stalls, materials short) for all
# users (monitoring/home.py); 0 computes them on every request.
MES_HOME_SNAPSHOT_SECONDS = env.int("MES_HOME_SNAPSHOT_SECONDS", default=30)
AXES_FAILURE_LIMIT = env.int("MES_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("MES_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "mes.security.lockout_response"
# A form without a valid CSRF token: 403 SEC-002 with its page (or JSON under /api/).
CSRF_FAILURE_VIEW = "mes.error_views.csrf_failure"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Internationalisation ---------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
# Files whitenoise serves at the site's root: /favicon.ico, which browsers ask for on
# every page that names no icon (the admin, the API's JSON).
WHITENOISE_ROOT = BASE_DIR / "static" / "root"
MEDIA_ROOT = Path(env.str("DJANGO_MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "DJANGO_STATICFILES_STORAGE",
            default="whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}

# --- REST API ---------------------------------------------------------------
# Floor endpoints and the badge sign-in only from registered devices (docs/floor.md).
MES_FLOOR_REQUIRE_DEVICE_TOKEN = env.bool("MES_FLOOR_REQUIRE_DEVICE_TOKEN", default=False)
# Badges of these roles (and superusers') also need the PIN on the floor (docs/floor.md).
MES_FLOOR_BADGE_PIN_ROLES = env.list(
    "MES_FLOOR_BADGE_PIN_ROLES", default=["team_leader", "supervisor"]
)
# Unknown badges per window: per badge prefix, and in the whole plant (an incident).
MES_FLOOR_BADGE_FAILURE_WINDOW_SECONDS = env.int(
    "MES_FLOOR_BADGE_FAILURE_WINDOW_SECONDS", default=600
)
MES_FLOOR_BADGE_FAILURES_PER_PREFIX = env.int("MES_FLOOR_BADGE_FAILURES_PER_PREFIX", default=20)
MES_FLOOR_BADGE_FAILURES_GLOBAL = env.int("MES_FLOOR_BADGE_FAILURES_GLOBAL", default=200)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # A floor device token is refused (401 FLR-025) everywhere but the floor endpoints.
        "floor.auth.DeviceTokenRefused",
        # Token next: an anonymous API call then gets 401 with a challenge, not 403.
        # People's API tokens, stored hashed (mes/tokens.py, docs/security.md).
        "mes.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "mes.renderers.JSONRenderer",
        # DRF's own, with a style-src the CSP lets its inline styles through.
        "mes.renderers.BrowsableAPIRenderer",
    ],
    # Generous defaults: they stop a runaway script, not a busy plant (docs/security.md).
    "DEFAULT_THROTTLE_CLASSES": [
        "mes.throttling.AnonRateThrottle",
        "mes.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("MES_API_ANON_RATE", default="60/min"),
        "user": env.str("MES_API_USER_RATE", default="6000/min"),
        # The floor's sign-in and its action batches, per device user (or address).
        "floor": env.str("MES_FLOOR_RATE", default="120/min"),
    },
    # DRF's, with a blank ?page= refused like any missing page (mes/pagination.py).
    "DEFAULT_PAGINATION_CLASS": "mes.pagination.PageNumbers",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        # django-filter's, with booleans only true or false (mes/filters.py).
        "mes.filters.FilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "mes.errors.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MES API",
    "DESCRIPTION": "Production inventory and work orders for discrete manufacturing.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Every operation's error answers in the one error shape (mes/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "mes.schema.error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "WorkOrderStateEnum": "workorders.models.WorkOrderState",
        "OperationStateEnum": "workorders.models.OperationState",
        "ReservationStateEnum": "inventory.models.StockReservation.State",
        "ReconciliationRunStateEnum": "integrations.models.ReconciliationRun.State",
    },
}

# --- Logging: JSON lines on stdout, timestamps in UTC (mes/logs.py) ---------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_context": {"()": "mes.request_context.RequestContextLogFilter"},
        # kombu says so for every connection to the filesystem broker, which has no host.
        "broker_without_host": {
            "()": "mes.logs.DropMessages",
            "prefixes": ["No hostname was supplied."],
        },
    },
    "formatters": {"json": {"()": "mes.logs.JsonFormatter"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "json",
            "filters": ["request_context"],
        }
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Said once per process at start: that Pillow is missing (labels are SVG, so
        # it is not needed) and django-axes's version.
        "pyBarcode": {"level": "WARNING"},
        "axes.apps": {"level": "WARNING"},
        "kombu.connection": {"filters": ["broker_without_host"]},
    },
}

# --- Load drill (`make drill`, docs/benchmarks.md) ---------------------------
DRILL_BUDGETS = {
    "page_p95_ms": env.float("MES_DRILL_PAGE_P95_MS", default=300.0),
    "scan_p95_ms": env.float("MES_DRILL_SCAN_P95_MS", default=150.0),
    "error_rate": env.float("MES_DRILL_ERROR_RATE", default=0.001),
    "machine_cpu_percent": env.float("MES_DRILL_MACHINE_CPU_PERCENT", default=40.0),
}

# --- Releases, snapshots and feature flags (docs/releases.md) -------------
WAFFLE_FLAG_MODEL = "releases.Flag"
# waffle's admin changes flags without an audit row: flags change on the releases page.
WAFFLE_ENABLE_ADMIN_PAGES = False
RELEASES_SNAPSHOT_DIR = env.str("MES_SNAPSHOT_DIR", default=str(VAR_DIR / "snapshots"))
RELEASES_SNAPSHOT_KEEP = env.int("MES_SNAPSHOT_KEEP", default=5)
RELEASES_SMOKE_URL = env.str("MES_SMOKE_URL", default="")
RELEASES_ACTIVITY_FLUSH_SECONDS = env.float("MES_ACTIVITY_FLUSH_SECONDS", default=60.0)
# The automatic halt needs this many requests on each side, and errors with the flag on.
RELEASES_HALT_MIN_REQUESTS = env.int("MES_HALT_MIN_REQUESTS", default=50)
RELEASES_HALT_MIN_ERRORS = env.int("MES_HALT_MIN_ERRORS", default=5)

# --- Health -----------------------------------------------------------------
READINESS_TIMEOUT_SECONDS = env.float("MES_READINESS_TIMEOUT", default=2.0)
