"""Settings, all from the environment.

``YIWANG_ENV`` selects the profile: ``development`` (default), ``test`` or ``production``.
Production refuses to start with a default secret key or default personal-data keys.
See the configuration table in README.md.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from yiwang.core.keys import DEV_DATA_KEYS, DEV_INDEX_KEY

ENV = os.environ.get("YIWANG_ENV", "development")
if ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured(f"YIWANG_ENV must be development, test or production, not {ENV!r}")
PRODUCTION = ENV == "production"

PACKAGE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("YIWANG_DATA_DIR", "var")).resolve()

DEV_SECRET_KEY = "yiwang-development-secret-key-do-not-use-in-production"  # noqa: S105
SECRET_KEY = os.environ.get("YIWANG_SECRET_KEY", "" if PRODUCTION else DEV_SECRET_KEY)

# Personal-data keys: "id:base64key,id:base64key"; the first (or YIWANG_DATA_KEY_CURRENT) encrypts.
YIWANG_DATA_KEYS = os.environ.get("YIWANG_DATA_KEYS", "" if PRODUCTION else DEV_DATA_KEYS)
YIWANG_DATA_KEY_CURRENT = os.environ.get("YIWANG_DATA_KEY_CURRENT", "")
YIWANG_INDEX_KEY = os.environ.get("YIWANG_INDEX_KEY", "" if PRODUCTION else DEV_INDEX_KEY)
YIWANG_KEY_PROVIDER = os.environ.get(
    "YIWANG_KEY_PROVIDER", "yiwang.core.keys.EnvironmentKeyProvider"
)

if PRODUCTION:
    problems = []
    if not SECRET_KEY or SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 50:
        problems.append("YIWANG_SECRET_KEY must be set to a random value of 50+ characters")
    if not YIWANG_DATA_KEYS or YIWANG_DATA_KEYS == DEV_DATA_KEYS:
        problems.append("YIWANG_DATA_KEYS must be set (see `yiwang keys generate`)")
    if not YIWANG_INDEX_KEY or YIWANG_INDEX_KEY == DEV_INDEX_KEY:
        problems.append("YIWANG_INDEX_KEY must be set (see `yiwang keys generate`)")
    if problems:
        raise ImproperlyConfigured("Refusing to start in production: " + "; ".join(problems))

DEBUG = os.environ.get("YIWANG_DEBUG", "0" if PRODUCTION else "1") == "1" and not PRODUCTION
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get(
        "YIWANG_ALLOWED_HOSTS", "" if PRODUCTION else "localhost,127.0.0.1,[::1],testserver"
    ).split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("YIWANG_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]
# Behind a reverse proxy that sets X-Forwarded-For: take the client address from its last
# entry (audit records, rate limits). Off by default: a client could claim any address.
YIWANG_TRUST_X_FORWARDED_FOR = os.environ.get("YIWANG_TRUST_X_FORWARDED_FOR", "0") == "1"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "huey.contrib.djhuey",
    "ninja",
    "yiwang.core",
    "yiwang.accounts",
    "yiwang.grid",
    "yiwang.registry",
    "yiwang.cases",
    "yiwang.policies",
    "yiwang.exchange",
    "yiwang.onestop",
    "yiwang.certs",
    "yiwang.ratings",
    "yiwang.web",
]

MIDDLEWARE = [
    # /healthz and /readyz for load balancers: before host validation and the HTTPS redirect
    "yiwang.core.health.HealthProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "yiwang.core.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "yiwang.core.middleware.RequestContextMiddleware",
    "yiwang.core.middleware.ApiRequestGuardMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "yiwang.core.middleware.PagesChineseFirstMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "yiwang.accounts.middleware.SessionPolicyMiddleware",
    "yiwang.accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "yiwang.core.idempotency.IdempotencyMiddleware",
]

ROOT_URLCONF = "yiwang.config.urls"
WSGI_APPLICATION = "yiwang.config.wsgi.application"
ASGI_APPLICATION = "yiwang.config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "yiwang.web.context.shell",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATA_DIR.mkdir(parents=True, exist_ok=True)
_db_url = os.environ.get("DATABASE_URL", "")
if ENV == "test":
    _db_url = os.environ.get("YIWANG_TEST_DATABASE_URL", "")
_db_pool = int(os.environ.get("YIWANG_DB_POOL_MAX", "0" if ENV == "test" else "20"))
if _db_url and _db_url.startswith(("postgres", "postgresql")) and _db_pool > 0:
    # The ASGI server runs each request on a thread of its own, so per-thread persistent
    # connections pile up under load ("too many clients"); a psycopg pool bounds them.
    DATABASES = {"default": dj_database_url.parse(_db_url, conn_max_age=0)}
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 2,
        "max_size": _db_pool,
        "timeout": 30,
    }
elif _db_url:
    DATABASES = {
        "default": dj_database_url.parse(_db_url, conn_max_age=60, conn_health_checks=True)
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "yiwang.sqlite3"),
            "OPTIONS": {
                # WAL journal, and writers take the lock at BEGIN so the audit chain never forks.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;"
                    "PRAGMA foreign_keys=ON;PRAGMA busy_timeout=20000;"
                ),
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth and login policy ------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
YIWANG_PASSWORD_MIN_LENGTH = int(os.environ.get("YIWANG_PASSWORD_MIN_LENGTH", "8"))
YIWANG_PASSWORD_MIN_CLASSES = int(os.environ.get("YIWANG_PASSWORD_MIN_CLASSES", "3"))
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": YIWANG_PASSWORD_MIN_LENGTH},
    },
    {
        "NAME": "yiwang.accounts.validators.CharacterClassValidator",
        "OPTIONS": {"min_classes": YIWANG_PASSWORD_MIN_CLASSES},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:home"

# Lockout after 5 failures within 30 minutes (django-axes).
AXES_FAILURE_LIMIT = int(os.environ.get("YIWANG_LOCKOUT_FAILURES", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("YIWANG_LOCKOUT_MINUTES", "30")))
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "yiwang.accounts.views.lockout_response"
AXES_VERBOSE = False
AXES_ENABLE_ACCESS_FAILURE_LOG = True

# Sessions: idle timeout (sliding) and absolute maximum.
YIWANG_SESSION_IDLE_SECONDS = int(os.environ.get("YIWANG_SESSION_IDLE_MINUTES", "30")) * 60
YIWANG_SESSION_ABSOLUTE_SECONDS = int(os.environ.get("YIWANG_SESSION_ABSOLUTE_HOURS", "12")) * 3600
SESSION_COOKIE_AGE = YIWANG_SESSION_IDLE_SECONDS
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Roles that must pass TOTP two-factor before using the console ("" to disable).
YIWANG_OTP_REQUIRED_ROLES = [
    r.strip()
    for r in os.environ.get(
        "YIWANG_OTP_REQUIRED_ROLES",
        "sysadmin,secadmin,auditadmin" if PRODUCTION else "",
    ).split(",")
    if r.strip()
]
OTP_TOTP_ISSUER = "Yiwang"

# --- i18n and time --------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Request limits and security ------------------------------------------------------------
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("YIWANG_MAX_BODY_BYTES", str(2 * 1024 * 1024)))
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE
#: API endpoints that take a file (multipart/form-data): the largest body each accepts, instead
#: of the 2 MB above (Django streams file parts to disk; the endpoint checks the file itself).
#: Keep the proxy's limit (nginx ``client_max_body_size``) at least as large (docs/deploy.md).
#: The code table city-part class codes are checked against once a version is loaded
#: (``yiwang.registry.codes``; not shipped: the deployment loads its edition).
YIWANG_PART_CLASS_TABLE = os.environ.get("YIWANG_PART_CLASS_TABLE", "cjt214")
GRID_IMPORT_MAX_BYTES = int(os.environ.get("YIWANG_GRID_IMPORT_MAX_BYTES", str(50 * 1024 * 1024)))
API_UPLOAD_LIMITS = {
    "/api/v1/registry/imports": int(
        os.environ.get("YIWANG_IMPORT_MAX_BYTES", str(500 * 1024 * 1024))
    )
    + 1024 * 1024,
    "/api/v1/grid/grids/import/file": GRID_IMPORT_MAX_BYTES + 64 * 1024,
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
YIWANG_HTTPS = os.environ.get("YIWANG_HTTPS", "1" if PRODUCTION else "0") == "1"
if YIWANG_HTTPS:
    SECURE_SSL_REDIRECT = os.environ.get("YIWANG_SSL_REDIRECT", "1") == "1"
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("YIWANG_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = False
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
YIWANG_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
SILENCED_SYSTEM_CHECKS = [
    # HSTS preload is a one-way decision for the operator's domain; left off by default.
    "security.W021",
    # Lockout is per account (等保: lock the account under attack). Locking by IP as well
    # would lock whole offices behind one NAT address; rate limits cover address-level abuse.
    "axes.W006",
]

# --- Background jobs (huey) -----------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": "yiwang",
        "url": REDIS_URL,
        "immediate": False,
        "consumer": {"workers": 2, "worker_type": "thread"},
    }
else:
    HUEY = {
        "huey_class": "yiwang.core.queue.SqliteHuey",
        "name": "yiwang",
        "filename": str(DATA_DIR / "huey.sqlite3"),
        "immediate": False,
        "consumer": {"workers": 2, "worker_type": "thread"},
    }
# --- Notifications (email / SMS providers; see docs/notifications.md) -----------------------
YIWANG_EMAIL_BACKEND = os.environ.get("YIWANG_EMAIL_BACKEND", "file")
YIWANG_SMS_BACKEND = os.environ.get("YIWANG_SMS_BACKEND", "file")
YIWANG_NOTIFY_WEBHOOK_URL = os.environ.get("YIWANG_NOTIFY_WEBHOOK_URL", "")
YIWANG_NOTIFY_WEBHOOK_SECRET = os.environ.get("YIWANG_NOTIFY_WEBHOOK_SECRET", "")
YIWANG_NOTIFY_WEBHOOK_TIMEOUT = os.environ.get("YIWANG_NOTIFY_WEBHOOK_TIMEOUT", "5")
YIWANG_NOTIFY_WEBHOOK_RETRIES = os.environ.get("YIWANG_NOTIFY_WEBHOOK_RETRIES", "2")
_webhook = "webhook" in (YIWANG_EMAIL_BACKEND, YIWANG_SMS_BACKEND)
if PRODUCTION and _webhook and not (YIWANG_NOTIFY_WEBHOOK_URL and YIWANG_NOTIFY_WEBHOOK_SECRET):
    raise ImproperlyConfigured(
        "Refusing to start in production: the webhook notification backend needs "
        "YIWANG_NOTIFY_WEBHOOK_URL and YIWANG_NOTIFY_WEBHOOK_SECRET"
    )

YIWANG_AUDIT_CHECKPOINT_MINUTES = int(os.environ.get("YIWANG_AUDIT_CHECKPOINT_MINUTES", "10"))

# --- API ------------------------------------------------------------------------------------
NINJA_PAGINATION_PER_PAGE = 50
NINJA_PAGINATION_MAX_PER_PAGE_SIZE = 500
YIWANG_IDEMPOTENCY_TTL_HOURS = 24

# --- Logging: every record passes the personal-data redactor ---------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            "()": "yiwang.core.logging.RedactingFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("YIWANG_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Demo district (synthetic data).
YIWANG_DEMO_DIVISION = os.environ.get("YIWANG_DEMO_DIVISION", "330106")
