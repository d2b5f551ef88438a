"""SupportHub settings: one module, every value from the environment (django-environ).

`.env.example` lists each variable. Behaviour differs between development and production
only through these variables; unsafe production combinations stop the process at start.
"""

from pathlib import Path
from typing import Any

import environ
from corsheaders.defaults import default_headers as default_cors_headers
from django.core.exceptions import ImproperlyConfigured

from supporthub import __version__
from supporthub.phone import InvalidPhoneNumber, to_e164

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# Optional file of defaults (ENV_FILE, default ./.env); real environment variables win.
environ.Env.read_env(env.str("ENV_FILE", default=str(BASE_DIR / ".env")))

INSECURE_DEV_SECRET_KEY = "dev-insecure-secret-key-change-me"  # noqa: S105 - guarded below

# --- Core ---------------------------------------------------------------------------
APP_NAME = env.str("APP_NAME", default="SupportHub")
APP_VERSION = env.str("APP_VERSION", default=__version__)
DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default=INSECURE_DEV_SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
TICKET_REFERENCE_PREFIX = env.str("TICKET_REFERENCE_PREFIX", default="SH")
# Give new tickets to on-shift agents in turn (agents toggle their shift in the admin).
AUTO_ASSIGN_ENABLED = env.bool("AUTO_ASSIGN_ENABLED", default=False)
# A support request identical to one the same contact sent this recently (same channel, subject and
# message) returns that ticket instead of opening another; 0 turns folding off.
INTAKE_FOLD_WINDOW_SECONDS = env.int("INTAKE_FOLD_WINDOW_SECONDS", default=300)
# Largest request body accepted anywhere (bytes); bigger bodies get 413.
MAX_REQUEST_BODY_BYTES = env.int("MAX_REQUEST_BODY_BYTES", default=1_048_576)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "rest_framework_api_key",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_prometheus",
    "csp",  # Content-Security-Policy (django-csp)
    "supporthub",
    "tickets",
    "notifications",
    "telephony",
    "escalation",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "supporthub.middleware.RequestIdMiddleware",
    "supporthub.middleware.HealthProbeMiddleware",  # before any Host check (probes use the pod's IP)
    "supporthub.middleware.BodySizeLimitMiddleware",
    "supporthub.middleware.JsonDepthLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # Content-Security-Policy header
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "supporthub.ratelimits.RateLimitMiddleware",  # webhooks and admin login per IP
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "supporthub.urls"
WSGI_APPLICATION = "supporthub.wsgi.application"

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

# --- Database -----------------------------------------------------------------------
# django-environ maps both postgres:// and postgresql:// to the PostgreSQL backend.
DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'supporthub.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file (not :memory:) so that a server or worker started by a test sees the test data.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
    # The web, worker and beat processes of `make run` write at once. WAL lets readers run
    # beside the writer; IMMEDIATE transactions take the write lock at BEGIN, so a writer
    # waits its turn (up to `timeout` seconds) instead of failing with "database is locked"
    # when a deferred transaction tries to upgrade its read lock.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Django's, with a health check that needs no round trip (supporthub/postgresql).
        DATABASES["default"]["ENGINE"] = "supporthub.postgresql"
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int(
        "DB_CONNECT_TIMEOUT", default=5
    )
    if env.bool("DB_PREPARED_STATEMENTS", default=True):
        DATABASES["default"]["OPTIONS"] |= {"server_side_binding": True, "prepare_threshold": 5}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, cache and Celery ---------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            # django-redis, the backend django-ratelimit supports (atomic INCR).
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
else:
    # Embedded default: a cache and a broker that need no server and work across the
    # web, worker and beat processes that `make run` starts.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
    # All broker state under var/broker (kombu's default control_folder is ./control).
    _broker_dir = VAR_DIR / "broker"
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    CELERY_RESULT_BACKEND = None

CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
if REDIS_URL:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Longer than any countdown we schedule; see NOTES on Redis redelivery.
        "visibility_timeout": 3600,
        # Publishing gives up quickly when Redis is down: the outbox re-queues later.
        "max_retries": 1,
        "interval_start": 0,
        "interval_step": 0.2,
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
    }
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = "UTC"
# Periodic sweeps over database state; each app's block below adds its entries.
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {}

# --- Auth, passwords, i18n, static -----------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- CORS -----------------------------------------------------------------------------
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_ALLOW_CREDENTIALS = env.bool("CORS_ALLOW_CREDENTIALS", default=False)
CORS_URLS_REGEX = r"^/v1/.*$"
# Browsers may send the API's own headers from an allowed origin, and read the request id.
CORS_ALLOW_HEADERS = (*default_cors_headers, "x-api-key", "idempotency-key")
CORS_EXPOSE_HEADERS = ["X-Request-ID", "Retry-After"]

# --- API --------------------------------------------------------------------------------
API_KEY = env.str("API_KEY", default="")
API_KEY_CUSTOM_HEADER = "HTTP_X_API_KEY"
# Lists count their matches exactly up to this many; above it `count` is PostgreSQL's estimate.
API_EXACT_COUNT_LIMIT = env.int("API_EXACT_COUNT_LIMIT", default=10_000)
# Idempotency-Key (supporthub/idempotency.py): how long a key replays its first response, and
# after how long a first request that never finished counts as dead (above any request timeout).
IDEMPOTENCY_KEY_TTL_SECONDS = env.int("IDEMPOTENCY_KEY_TTL_SECONDS", default=24 * 3600)
IDEMPOTENCY_IN_FLIGHT_SECONDS = env.int("IDEMPOTENCY_IN_FLIGHT_SECONDS", default=600)
CELERY_BEAT_SCHEDULE["supporthub-purge-idempotency-keys"] = {
    "task": "supporthub.idempotency_keys_purge",
    "schedule": 3600.0,
}
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "supporthub.api.auth.APIKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["supporthub.api.auth.RolePermission"],
    "DEFAULT_RENDERER_CLASSES": ["supporthub.api.renderers.ORJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "supporthub.api.negotiation.ContentNegotiation",
    "DEFAULT_PAGINATION_CLASS": "supporthub.api.pagination.PageNumberPagination",
    "DEFAULT_FILTER_BACKENDS": [
        "supporthub.api.filtering.FilterBackend",
        "supporthub.api.filtering.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "supporthub.api.schema.AutoSchema",
    # per-API-key and per-IP limits on /v1 writes (django-ratelimit on the shared cache).
    "DEFAULT_THROTTLE_CLASSES": ["supporthub.ratelimits.WriteRateLimit"],
    "EXCEPTION_HANDLER": "supporthub.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"] = [
        "supporthub.api.renderers.ORJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ]

SPECTACULAR_SETTINGS = {
    "TITLE": f"{APP_NAME} API",
    "DESCRIPTION": "Tickets, messages, calls and on-call for a 24/7 support team. "
    "Authenticate with the `X-API-Key` header.",
    "VERSION": APP_VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "supporthub.api.schema.query_strings_not_empty",
    ],
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "tickets.models.TicketStatus",
        "TicketChannelEnum": "tickets.models.TicketChannel",
        "MessageDirectionEnum": "tickets.models.MessageDirection",
        "MessageChannelEnum": "tickets.models.MessageChannel",
    },
}

# --- Email --------------------------------------------------------------------------------
SMTP_HOST = env.str("SMTP_HOST", default="")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="SupportHub <support@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
SUPPORT_TEAM_EMAIL = env.str("SUPPORT_TEAM_EMAIL", default="")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
if SMTP_HOST:
    _default_email_backend = "django.core.mail.backends.smtp.EmailBackend"
else:
    _default_email_backend = "django.core.mail.backends.console.EmailBackend"
# Any anymail ESP works by naming its backend here (e.g. anymail.backends.postmark.EmailBackend)
# and putting its credentials in ANYMAIL_* variables.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default=_default_email_backend)
EMAIL_HOST = SMTP_HOST
EMAIL_PORT = env.int("SMTP_PORT", default=587)
EMAIL_HOST_USER = env.str("SMTP_USER", default="")
EMAIL_HOST_PASSWORD = env.str("SMTP_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("SMTP_USE_TLS", default=True)
EMAIL_USE_SSL = env.bool("SMTP_USE_SSL", default=False)
ANYMAIL = {
    key.removeprefix("ANYMAIL_"): value
    for key, value in env.ENVIRON.items()
    if key.startswith("ANYMAIL_") and value
}

# --- Slack ---------------------------------------------------------------------------------
SLACK_WEBHOOK_URL = env.str("SLACK_WEBHOOK_URL", default="")
# A bot token (xoxb-..., scope chat:write) posts with chat.postMessage to any channel the bot
# is in, so escalation steps can choose their channel; set, it is used instead of the webhook.
SLACK_BOT_TOKEN = env.str("SLACK_BOT_TOKEN", default="")
SLACK_API_URL = env.str("SLACK_API_URL", default="https://slack.com/api/")
SLACK_CHANNEL = env.str("SLACK_CHANNEL", default="")
SLACK_USERNAME = env.str("SLACK_USERNAME", default=APP_NAME)
SLACK_ICON_EMOJI = env.str("SLACK_ICON_EMOJI", default=":telephone_receiver:")
# The Slack app's signing secret: /webhooks/slack/interactivity and /webhooks/slack/commands
# refuse every request (401) while it is not set. Buttons on pages need SLACK_BOT_TOKEN too.
SLACK_SIGNING_SECRET = env.str("SLACK_SIGNING_SECRET", default="")

# --- Twilio and telephony -------------------------------------------------------------------
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env.str("TWILIO_FROM_NUMBER", default="")
SUPPORT_FORWARD_NUMBER = env.str("SUPPORT_FORWARD_NUMBER", default="")
# --- the inbound call flow ---
# Seconds each person's phone rings, and how many people (down the on-call chain) are rung
# before the caller is offered voicemail.
TELEPHONY_RING_SECONDS = env.int("TELEPHONY_RING_SECONDS", default=20)
TELEPHONY_DIAL_ATTEMPTS = env.int("TELEPHONY_DIAL_ATTEMPTS", default=2)
TELEPHONY_VOICEMAIL_MAX_SECONDS = env.int("TELEPHONY_VOICEMAIL_MAX_SECONDS", default=120)
# Empty means the default text.
TELEPHONY_GREETING = env.str("TELEPHONY_GREETING", default="") or (
    f"Thank you for calling {APP_NAME} support. Please hold while we connect you."
)
TELEPHONY_VOICEMAIL_PROMPT = env.str("TELEPHONY_VOICEMAIL_PROMPT", default="") or (
    "Sorry, nobody could take your call. Please leave a message after the tone, "
    "then hang up or press the pound key. We will get back to you as soon as we can."
)
# The voice webhook answers before the call has a ticket and queues its booking; beat books
# calls still without a ticket this many seconds after they came in (their task was lost:
# broker down, worker killed), checking this often.
TELEPHONY_TICKET_SWEEP_SECONDS = env.float("TELEPHONY_TICKET_SWEEP_SECONDS", default=30.0)
# A call is missed only once its last Dial has reported; one that ended this many seconds ago
# still waiting for it (the caller hung up during the greeting) is booked as abandoned by beat.
TELEPHONY_OUTCOME_GRACE_SECONDS = env.float("TELEPHONY_OUTCOME_GRACE_SECONDS", default=30.0)
if (
    not 5 <= TELEPHONY_RING_SECONDS <= 600
    or TELEPHONY_DIAL_ATTEMPTS < 1
    or TELEPHONY_VOICEMAIL_MAX_SECONDS < 1
    or TELEPHONY_TICKET_SWEEP_SECONDS <= 0
    or TELEPHONY_OUTCOME_GRACE_SECONDS <= 0
):
    raise ImproperlyConfigured(
        "TELEPHONY_RING_SECONDS must be 5-600 (Twilio's limits), TELEPHONY_DIAL_ATTEMPTS and "
        "TELEPHONY_VOICEMAIL_MAX_SECONDS at least 1, TELEPHONY_TICKET_SWEEP_SECONDS and "
        "TELEPHONY_OUTCOME_GRACE_SECONDS above 0."
    )
CELERY_BEAT_SCHEDULE["telephony-book-calls-without-ticket"] = {
    "task": "telephony.calls_ticket_sweep",
    "schedule": TELEPHONY_TICKET_SWEEP_SECONDS,
}
# With the database unreachable, call callbacks are kept here (one JSON file each) and
# replayed when it is back: by beat, and by the next call to reach this web host.
TELEPHONY_SPOOL_DIR = env.str("TELEPHONY_SPOOL_DIR", default=str(VAR_DIR / "spool" / "calls"))
CELERY_BEAT_SCHEDULE["telephony-replay-call-spool"] = {
    "task": "telephony.calls_spool_drain",
    "schedule": TELEPHONY_TICKET_SWEEP_SECONDS,
}
CELERY_BEAT_SCHEDULE["telephony-decide-ended-calls"] = {
    "task": "telephony.calls_outcome_sweep",
    "schedule": TELEPHONY_OUTCOME_GRACE_SECONDS,
}

# --- Notifications outbox ---------------------------------------------------------
# Delivery retries: exponential backoff with jitter from BASE, capped at MAX (kept below the
# Redis visibility timeout), for as long as the delivery's window; then it is failed (dead
# letter). Customer messages are retried for an hour, team notices for a day; pages until
# their incident is acknowledged or resolved (at most the team window).
NOTIFICATIONS_RETRY_WINDOW_CUSTOMER_SECONDS = env.int(
    "NOTIFICATIONS_RETRY_WINDOW_CUSTOMER_SECONDS", default=3600
)
NOTIFICATIONS_RETRY_WINDOW_TEAM_SECONDS = env.int("NOTIFICATIONS_RETRY_WINDOW_TEAM_SECONDS", default=86400)
# Acknowledgements (email or SMS) one address or number receives per hour at most; past it a
# new ticket is still opened, without one.
ACK_LIMIT_PER_HOUR = env.int("ACK_LIMIT_PER_HOUR", default=3)
NOTIFICATIONS_RETRY_BASE_SECONDS = env.float("NOTIFICATIONS_RETRY_BASE_SECONDS", default=10.0)
NOTIFICATIONS_RETRY_MAX_SECONDS = env.float("NOTIFICATIONS_RETRY_MAX_SECONDS", default=1800.0)
# A send that has not finished after this long is presumed lost (killed worker) and redone.
NOTIFICATIONS_SENDING_TIMEOUT_SECONDS = env.int("NOTIFICATIONS_SENDING_TIMEOUT_SECONDS", default=300)
# The beat sweep re-queues deliveries still pending this long after they were due.
NOTIFICATIONS_REQUEUE_AFTER_SECONDS = env.int("NOTIFICATIONS_REQUEUE_AFTER_SECONDS", default=60)
NOTIFICATIONS_SWEEP_INTERVAL_SECONDS = env.float("NOTIFICATIONS_SWEEP_INTERVAL_SECONDS", default=30.0)
NOTIFICATIONS_SWEEP_BATCH = env.int("NOTIFICATIONS_SWEEP_BATCH", default=1000)
# Deliveries by HTTP (SMS, calls, Slack, PagerDuty, Opsgenie) one send task has in flight at
# once, each in a thread with its own database connection (1: one by one). The default is a
# send task's batch (outbox.SEND_BATCH): a mass outage's pages leave a batch at a time.
NOTIFICATIONS_SEND_THREADS = env.int("NOTIFICATIONS_SEND_THREADS", default=25)
# Slack allows about one message per second per incoming webhook; 0 turns spacing off.
SLACK_MIN_INTERVAL_SECONDS = env.float("SLACK_MIN_INTERVAL_SECONDS", default=1.0)
SLACK_TIMEOUT_SECONDS = env.float("SLACK_TIMEOUT_SECONDS", default=10.0)
# Another base URL for the Twilio REST API (tests point it at a fake server on 127.0.0.1).
TWILIO_API_BASE_URL = env.str("TWILIO_API_BASE_URL", default="")
TWILIO_TIMEOUT_SECONDS = env.float("TWILIO_TIMEOUT_SECONDS", default=10.0)
# anymail ESP calls time out like SMTP does unless ANYMAIL_REQUESTS_TIMEOUT says otherwise.
ANYMAIL.setdefault("REQUESTS_TIMEOUT", EMAIL_TIMEOUT)
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "DeliveryStatusEnum": "notifications.models.DeliveryStatus",
        "DeliveryChannelEnum": "notifications.models.DeliveryChannel",
    }
)
CELERY_BEAT_SCHEDULE["notifications-requeue-stale"] = {
    "task": "notifications.requeue_stale_deliveries",
    "schedule": NOTIFICATIONS_SWEEP_INTERVAL_SECONDS,
}

# --- PagerDuty (Events API v2) and Opsgenie channels for escalation ------------
PAGERDUTY_ROUTING_KEY = env.str("PAGERDUTY_ROUTING_KEY", default="")  # an Events API v2 integration key
PAGERDUTY_EVENTS_URL = env.str("PAGERDUTY_EVENTS_URL", default="https://events.pagerduty.com/v2/enqueue")
PAGERDUTY_TIMEOUT_SECONDS = env.float("PAGERDUTY_TIMEOUT_SECONDS", default=10.0)
OPSGENIE_API_KEY = env.str("OPSGENIE_API_KEY", default="")  # an API integration key
OPSGENIE_API_URL = env.str("OPSGENIE_API_URL", default="https://api.opsgenie.com")  # EU: api.eu.opsgenie.com
OPSGENIE_TIMEOUT_SECONDS = env.float("OPSGENIE_TIMEOUT_SECONDS", default=10.0)

# --- Errors and logging ---------------------------------------------------------------------
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="development" if DEBUG else "production")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")

# --- structured logging -----------------------------------------------------
# One JSON object per line in production, readable key=value lines in development; every
# line carries request_id (and task_id/task_name inside Celery tasks). See docs/observability.md.
LOG_FORMAT = env.str("LOG_FORMAT", default="console" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "supporthub.middleware.RequestIdLogFilter"}},
    "formatters": {
        "structured": {"()": "supporthub.logconfig.StructuredFormatter", "fmt": LOG_FORMAT},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "structured",
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's own console handler would print every request warning a second time.
        "django": {"handlers": [], "propagate": True},
        "django.db.backends": {"level": "INFO"},
    },
}

# --- security headers and cookies --------------------------------------------
# HTTPS-only behaviour defaults on when PUBLIC_BASE_URL is https; each setting can be forced.
# docs/security.md lists the production values with which `manage.py check --deploy` is clean.
_PUBLIC_HTTPS = PUBLIC_BASE_URL.startswith("https://")
_proxy_ssl_header = env.str("SECURE_PROXY_SSL_HEADER", default="")  # e.g. HTTP_X_FORWARDED_PROTO
if _proxy_ssl_header:
    _name, _, _value = _proxy_ssl_header.partition(",")
    SECURE_PROXY_SSL_HEADER = (_name.strip(), _value.strip() or "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
# Probes and the metrics scraper talk plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^health(/|$)", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000 if _PUBLIC_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=_PUBLIC_HTTPS)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=_PUBLIC_HTTPS)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=_PUBLIC_HTTPS)
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = env.str("SECURE_REFERRER_POLICY", default="same-origin")
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp 4). Everything is served from our own origin: the admin,
# and /docs whose Swagger UI comes from drf-spectacular-sidecar with its init script in a
# separate file. Inline styles stay allowed because the admin and Swagger UI set style="...".
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# (Not named CSP_REPORT_URI: django-csp 4 refuses settings with its old CSP_* names.)
_csp_report_uri = env.str("CSP_REPORT_URI", default="")
if _csp_report_uri:
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["report-uri"] = [_csp_report_uri]
if env.bool("CSP_REPORT_ONLY", default=False):
    CONTENT_SECURITY_POLICY_REPORT_ONLY = CONTENT_SECURITY_POLICY
    CONTENT_SECURITY_POLICY = None  # type: ignore[assignment]

# --- rate limits (django-ratelimit; rates like "120/m", "10/5m"; "" = off) ---
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)
RATELIMIT_USE_CACHE = "default"
RATELIMIT_FAIL_OPEN = True  # a cache outage must not reject every write
# The network a client address is counted under (supporthub.ratelimits.client_network).
RATELIMIT_IPV4_MASK = 32
RATELIMIT_IPV6_MASK = 64
# How many reverse proxies in front of gunicorn append to X-Forwarded-For (0: use REMOTE_ADDR).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
RATELIMIT_API_KEY_WRITES = env.str("RATELIMIT_API_KEY_WRITES", default="120/m")
RATELIMIT_API_IP_WRITES = env.str("RATELIMIT_API_IP_WRITES", default="300/m")
RATELIMIT_WEBHOOKS_IP = env.str("RATELIMIT_WEBHOOKS_IP", default="60/m")  # refusals, not requests
RATELIMIT_WEBHOOK_PREFIX = "/webhooks/"
RATELIMIT_ADMIN_LOGIN = env.str("RATELIMIT_ADMIN_LOGIN", default="10/5m")
# Once a username has RATELIMIT_ADMIN_LOGIN failures, each address may try it this often.
RATELIMIT_ADMIN_LOGIN_SLOWED = env.str("RATELIMIT_ADMIN_LOGIN_SLOWED", default="1/m")
# Presence heartbeats from the ticket page, per agent (a beat every 10 s per open ticket tab).
RATELIMIT_PRESENCE = env.str("RATELIMIT_PRESENCE", default="60/m")
if not REDIS_URL:
    # Embedded development default: FileBasedCache is shared by the web, worker and beat
    # processes of `make run`, but its increment is not atomic, so under concurrency a limit
    # can let a few extra requests through. Good enough on a laptop; production sets
    # REDIS_URL, which switches to django-redis (atomic INCR) and clears this silence.
    SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003", "django_ratelimit.W001"]

# --- API keys, metrics, tracing, health --------------------------------------
# A key's last_used_at is written at most once per this many seconds.
API_KEY_LAST_USED_RESOLUTION_SECONDS = 60
# /metrics: allowed with `Authorization: Bearer <METRICS_TOKEN>`, or from these networks.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=["127.0.0.1/32", "::1/128"])
# Set for gunicorn with several workers and for Celery workers: one shared, empty-at-start
# directory (see docs/observability.md). Read by prometheus_client from the environment.
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="")
OTEL_EXPORTER_OTLP_ENDPOINT = env.str("OTEL_EXPORTER_OTLP_ENDPOINT", default="")
OTEL_SERVICE_NAME = env.str("OTEL_SERVICE_NAME", default="supporthub")
# /health/ready also requires the broker (a web node that cannot queue work is taken out).
READINESS_CHECK_BROKER = env.bool("READINESS_CHECK_BROKER", default=True)


def _validate() -> None:
    """Refuse to start with settings that are unsafe or plainly wrong."""
    problems = []
    if not DEBUG and SECRET_KEY == INSECURE_DEV_SECRET_KEY:
        problems.append(
            "SECRET_KEY is the development default while DEBUG is off: set SECRET_KEY "
            "to a long random value (or DEBUG=true for local development)."
        )
    if not DEBUG and len(SECRET_KEY) < 32:
        problems.append("SECRET_KEY must be at least 32 characters when DEBUG is off.")
    if not DEBUG and "*" in ALLOWED_HOSTS:
        problems.append("ALLOWED_HOSTS must name the real host names when DEBUG is off, not '*'.")
    for name in ("SUPPORT_FORWARD_NUMBER", "TWILIO_FROM_NUMBER"):
        value = globals()[name]
        if value:
            try:
                to_e164(value)
            except InvalidPhoneNumber as exc:
                problems.append(f"{name}: {exc}")
    if bool(TWILIO_ACCOUNT_SID) != bool(TWILIO_AUTH_TOKEN):
        problems.append("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN must be set together.")
    if problems:
        raise ImproperlyConfigured("Unsafe or invalid settings:\n- " + "\n- ".join(problems))


_validate()

if SENTRY_DSN:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=SENTRY_ENVIRONMENT,
        release=APP_VERSION,
        traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
    )

# --- Escalation -------------------------------------------------------------------
# The engine is driven by beat over database state; the on-commit kick only makes the first
# page faster.
ESCALATION_TICK_SECONDS = env.float("ESCALATION_TICK_SECONDS", default=15.0)
SLA_SWEEP_SECONDS = env.float("SLA_SWEEP_SECONDS", default=60.0)
# Handoff notices: minutes before a shift starts that its person is told whom they take over
# from, for people who set no lead time on a contact method (0: only those who did).
ESCALATION_HANDOFF_NOTICE_MINUTES = env.int("ESCALATION_HANDOFF_NOTICE_MINUTES", default=0)
ESCALATION_HANDOFF_SWEEP_SECONDS = env.float("ESCALATION_HANDOFF_SWEEP_SECONDS", default=60.0)
# How long before a shift starts its person is warned when no contact method of theirs is
# shown to reach them (escalation.reachability); checked every 15 minutes.
ONCALL_REACHABILITY_LEAD_HOURS = env.float("ONCALL_REACHABILITY_LEAD_HOURS", default=12.0)
CELERY_BEAT_SCHEDULE.update(
    {
        "escalation-handoff-notices": {
            "task": "escalation.handoff_notices",
            "schedule": ESCALATION_HANDOFF_SWEEP_SECONDS,
        },
        "escalation-tick": {"task": "escalation.tick", "schedule": ESCALATION_TICK_SECONDS},
        "tickets-sla-sweep": {"task": "tickets.sla_sweep", "schedule": SLA_SWEEP_SECONDS},
        "escalation-schedule-health": {"task": "escalation.schedule_health", "schedule": 24 * 3600.0},
        "escalation-reachability": {"task": "escalation.reachability_check", "schedule": 15 * 60.0},
    }
)
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "IncidentStatusEnum": "escalation.models.IncidentStatus",
        "IncidentReasonEnum": "escalation.models.TriggerReason",
    }
)

# --- Attachments --------------------------------------------------------------------
# Files on messages (tickets.attachments). Stored on the file system under var/attachments,
# or in an S3-compatible bucket when ATTACHMENT_S3_BUCKET is set (django-storages; the keys
# come from ATTACHMENT_S3_ACCESS_KEY_ID/SECRET_ACCESS_KEY, else boto3's usual sources).
ATTACHMENT_S3_BUCKET = env.str("ATTACHMENT_S3_BUCKET", default="")
if ATTACHMENT_S3_BUCKET:
    STORAGES["attachments"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": ATTACHMENT_S3_BUCKET,
            "endpoint_url": env.str("ATTACHMENT_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("ATTACHMENT_S3_REGION", default="") or None,
            "access_key": env.str("ATTACHMENT_S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("ATTACHMENT_S3_SECRET_ACCESS_KEY", default="") or None,
            "location": env.str("ATTACHMENT_S3_PREFIX", default="attachments"),
            "default_acl": None,  # private: SupportHub serves every file itself
            "file_overwrite": False,
        },
    }
else:
    STORAGES["attachments"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": env.str("ATTACHMENT_DIR", default=str(VAR_DIR / "attachments"))},
    }
# Limits: bytes per file and per message, files per message.
ATTACHMENT_MAX_FILE_BYTES = env.int("ATTACHMENT_MAX_FILE_BYTES", default=10 * 1024 * 1024)
ATTACHMENT_MAX_MESSAGE_BYTES = env.int("ATTACHMENT_MAX_MESSAGE_BYTES", default=25 * 1024 * 1024)
ATTACHMENT_MAX_FILES = env.int("ATTACHMENT_MAX_FILES", default=10)
# Types as judged from the content (not the name): the allowed ones (empty: any type not
# refused), and the refused ones, which win.
ATTACHMENT_ALLOWED_TYPES = env.list(
    "ATTACHMENT_ALLOWED_TYPES",
    default=[
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/heic",
        "image/tiff",
        "image/bmp",
        "application/pdf",
        "text/plain",
        "application/zip",
        "application/gzip",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/rtf",
        "audio/mpeg",
        "audio/mp4",
        "audio/ogg",
        "audio/x-wav",
        "audio/amr",
        "video/mp4",
        "video/3gpp",
        "video/quicktime",
    ],
)
ATTACHMENT_REFUSED_TYPES = env.list(
    "ATTACHMENT_REFUSED_TYPES",
    default=[
        "application/x-msdownload",
        "application/x-executable",
        "application/x-sh",
        "application/vnd.ms-cab-compressed",
        "application/x-shockwave-flash",
        "application/wasm",
    ],
)
# Images with more pixels than this get no thumbnail in the console (a decompression bomb
# would take the memory of a worker); they are shown as a link.
ATTACHMENT_THUMBNAIL_MAX_PIXELS = env.int("ATTACHMENT_THUMBNAIL_MAX_PIXELS", default=50_000_000)
# Links to attachments in SMS replies stay valid this long.
ATTACHMENT_LINK_MAX_AGE_SECONDS = env.int("ATTACHMENT_LINK_MAX_AGE_SECONDS", default=3 * 24 * 3600)
# Attachments older than this many days are deleted by the daily purge; 0 keeps them.
ATTACHMENT_RETENTION_DAYS = env.int("ATTACHMENT_RETENTION_DAYS", default=0)
# Inbound MMS media are fetched from Twilio by a task: tries, and the timeout of each.
ATTACHMENT_FETCH_MAX_ATTEMPTS = env.int("ATTACHMENT_FETCH_MAX_ATTEMPTS", default=5)
ATTACHMENT_FETCH_TIMEOUT_SECONDS = env.float("ATTACHMENT_FETCH_TIMEOUT_SECONDS", default=20.0)
# A fetch not finished this long after it was queued (its task lost: broker down, worker
# killed) is queued again by a beat sweep that runs as often. Keep it above the time all
# tries take (their timeouts and the backoff between them).
ATTACHMENT_FETCH_SWEEP_SECONDS = env.float("ATTACHMENT_FETCH_SWEEP_SECONDS", default=900.0)
# Bodies that carry files may be larger than MAX_REQUEST_BODY_BYTES (supporthub.middleware):
# multipart uploads, and inbound email webhooks, whose JSON carries attachments in base64.
MAX_UPLOAD_BODY_BYTES = MAX_REQUEST_BODY_BYTES + ATTACHMENT_MAX_MESSAGE_BYTES * 4 // 3
UPLOAD_PATH_PREFIXES = ("/webhooks/email/",)
# Django's own limit on a body read into memory: the middleware has refused larger ones
# everywhere but on those paths already.
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_BODY_BYTES
CELERY_BEAT_SCHEDULE["telephony-mms-fetch-sweep"] = {
    "task": "telephony.mms_fetch_sweep",
    "schedule": ATTACHMENT_FETCH_SWEEP_SECONDS,
}
CELERY_BEAT_SCHEDULE["tickets-attachments-purge"] = {
    "task": "tickets.attachments_purge",
    "schedule": 24 * 3600.0,
}
