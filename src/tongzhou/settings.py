"""All settings, each read from the environment in one place.

TONGZHOU_ENV        development (default) | production
SECRET_KEY          required in production
DATABASE_URL        default: SQLite file in TONGZHOU_DATA_DIR
REDIS_URL           optional; switches fan-out between processes to Redis
ALLOWED_HOSTS       comma-separated; default localhost names in development
TONGZHOU_DATA_DIR   where the SQLite file and media live (default ./tongzhou-data)
TONGZHOU_DEBUG      1 to turn DEBUG on (development only)
TONGZHOU_REQUIRE_2FA_FOR_STAFF  1: leaders and moderators must use two-step sign-in to moderate
TONGZHOU_DATA_KEYS  comma-separated Fernet keys for health data at rest; the first encrypts,
                    all decrypt (key rotation). Required in production; in development a key
                    is derived from SECRET_KEY.
TONGZHOU_WORKER     inside (default): background tasks run in a thread of each server process;
                    external: only `tongzhou worker` runs them (scale-out)
TONGZHOU_LINK_PREVIEWS          0 turns link previews off (default on)
TONGZHOU_LINK_PREVIEW_ALLOW_HOST  one host:port previews may fetch although it is private
                    (a test server); never set it in production
EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS, EMAIL_USE_SSL,
DEFAULT_FROM_EMAIL  SMTP for the optional e-mail digest; without EMAIL_HOST no mail is sent
TONGZHOU_SITE_URL   the address members open (links in e-mails), e.g. https://tz.example.org
TONGZHOU_DB_POOL_SIZE  PostgreSQL connections per process (default 20)
TONGZHOU_IMPORT_MAX_MB  the largest chat export a leader may upload (default 200)
TONGZHOU_RATE_LIMITS  override rate limits, e.g. "send_minute=40/60,send_hour=600/3600"
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
ENV = os.environ.get("TONGZHOU_ENV", "development")
if ENV not in ("development", "production"):
    raise ImproperlyConfigured("TONGZHOU_ENV must be 'development' or 'production'")
PRODUCTION = ENV == "production"

DEV_SECRET_KEY = "dev-only-not-secret-tongzhou"  # noqa: S105 - refused in production below
SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
DEBUG = os.environ.get("TONGZHOU_DEBUG", "0") == "1"

if PRODUCTION:
    if SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 50:
        raise ImproperlyConfigured(
            "Production needs SECRET_KEY set to a random value of at least 50 characters."
        )
    if DEBUG:
        raise ImproperlyConfigured("Production refuses to start with TONGZHOU_DEBUG=1.")

REQUIRE_2FA_FOR_STAFF = os.environ.get("TONGZHOU_REQUIRE_2FA_FOR_STAFF", "0") == "1"

DATA_KEYS = [k.strip() for k in os.environ.get("TONGZHOU_DATA_KEYS", "").split(",") if k.strip()]
if PRODUCTION and not DATA_KEYS:
    raise ImproperlyConfigured(
        "Production needs TONGZHOU_DATA_KEYS (make one with: tongzhou manage rotate_data_key "
        "--generate)."
    )

_hosts = os.environ.get("ALLOWED_HOSTS", "")
if _hosts:
    ALLOWED_HOSTS = [h.strip() for h in _hosts.split(",") if h.strip()]
elif PRODUCTION:
    raise ImproperlyConfigured("Production needs ALLOWED_HOSTS (comma-separated host names).")
else:
    ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]", "testserver"]

DATA_DIR = Path(os.environ.get("TONGZHOU_DATA_DIR", "tongzhou-data")).resolve()

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_tasks",
    "django_tasks_db",
    "tongzhou.accounts",
    "tongzhou.groups",
    "tongzhou.chat",
    "tongzhou.notify",
    "tongzhou.questions",
    "tongzhou.knowledge",
    "tongzhou.safety",
    "tongzhou.community",
    "tongzhou.imports",
    "tongzhou.insight",
]

MIDDLEWARE = [
    "tongzhou.compress.TextGZipMiddleware",  # outermost: it sees WhiteNoise's files too
    "django.middleware.security.SecurityMiddleware",
    "tongzhou.security.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tongzhou.accounts.sessions.SeenMiddleware",
    "tongzhou.accounts.zone.MemberTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tongzhou.urls"
ASGI_APPLICATION = "tongzhou.asgi.application"

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
                "tongzhou.notify.context.unread",
                "tongzhou.accounts.context.reading",
                "tongzhou.community.context.counts",
            ],
        },
    },
]

_default_db = f"sqlite:///{DATA_DIR / 'tongzhou.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(os.environ.get("DATABASE_URL", _default_db))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers run beside the writer; FULL makes an acknowledged message survive
        # power loss; secure_delete zeroes what is deleted (an erased member leaves nothing in
        # free pages); IMMEDIATE avoids lock-upgrade deadlocks.
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA secure_delete=ON;"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # Tests use a file, not memory, so a real server thread can share the test database.
    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get(
            "TONGZHOU_TEST_SQLITE", str(Path(tempfile.gettempdir()) / "tongzhou-test.sqlite3")
        )
    }
else:
    # A pool per process: a new connection per request cost PostgreSQL a fork and cold
    # caches on every send, and CONN_MAX_AGE cannot help, since Django runs each ASGI request
    # in a thread of its own (bench/scaleout.py saw both). Connections are checked when
    # taken, so a restarted PostgreSQL costs no failed request beyond those in flight.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # Django passes the pool its check
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 2,
        "max_size": int(os.environ.get("TONGZHOU_DB_POOL_SIZE", "20")),
        "timeout": 10,  # then the request answers 503 "unavailable", to retry
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    # One publish per group per event; every process delivers to its own sockets.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "tongzhou.layers.LocalChannelLayer", "CONFIG": {"capacity": 5000}}
    }

# Slow side effects (link previews, e-mail) are tasks in a database queue: they survive a
# restart, and the queue needs no other service.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
WORKER = os.environ.get("TONGZHOU_WORKER", "inside")
if WORKER not in ("inside", "external"):
    raise ImproperlyConfigured("TONGZHOU_WORKER must be 'inside' or 'external'")

EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("EMAIL_USE_TLS", "0") == "1"
EMAIL_USE_SSL = os.environ.get("EMAIL_USE_SSL", "0") == "1"
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "tongzhou@localhost")
SITE_URL = os.environ.get("TONGZHOU_SITE_URL", "http://localhost:8000").rstrip("/")

AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "groups:directory"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en"
# Each language is named in itself, the same in every interface: every catalogue translates
# these names as themselves (zh_Hant keeps 简体中文: see scripts/zh_hant_review.py).
LANGUAGES = [("en", _("English")), ("zh-hans", _("简体中文")), ("zh-hant", _("繁體中文"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = os.environ.get("TONGZHOU_TIME_ZONE", "Asia/Shanghai")
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = None  # served by WhiteNoise from the package (WHITENOISE_USE_FINDERS)
WHITENOISE_USE_FINDERS = True  # serve straight from the package; no collectstatic step
MEDIA_ROOT = DATA_DIR / "media"

SESSION_ENGINE = "tongzhou.accounts.sessions"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_SSL_REDIRECT = os.environ.get("TONGZHOU_SSL_REDIRECT", "1") == "1"
    # HSTS preload is a commitment the operator makes on hstspreload.org, not a default.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    _origins = os.environ.get("CSRF_TRUSTED_ORIGINS", "")
    CSRF_TRUSTED_ORIGINS = [o.strip() for o in _origins.split(",") if o.strip()]

# Product limits.
MESSAGE_MAX_CHARS = 4000
DEFAULT_MEMBER_CAP = 150
IMAGE_MAX_BYTES = 15_000_000  # as uploaded; phone photos are 2-8 MB
IMAGE_MAX_PIXELS = 50_000_000  # decoded size; larger is refused as a decompression bomb
IMAGE_MAX_SIDE = 2560  # longest side kept
THUMB_SIDE = 480
VOICE_MAX_BYTES = 4_000_000  # 60 s of AAC at 128 kbit/s is about 1 MB
VOICE_MAX_SECONDS = 60
UPLOADS_PER_HOUR = 120  # per member
EDIT_WINDOW_SECONDS = 120
LINK_PREVIEWS = os.environ.get("TONGZHOU_LINK_PREVIEWS", "1") == "1"
LINK_PREVIEW_ALLOW_HOST = os.environ.get("TONGZHOU_LINK_PREVIEW_ALLOW_HOST", "")
if PRODUCTION and LINK_PREVIEW_ALLOW_HOST:
    # It opens a hole in the SSRF guard: for tests against a local page only.
    raise ImproperlyConfigured("Production refuses TONGZHOU_LINK_PREVIEW_ALLOW_HOST.")
LINK_PREVIEW_TIMEOUT = 8.0  # seconds for one whole fetch, redirects included
# The largest chat export a leader may upload (the studied group's 82,389 messages: ~7 MB).
IMPORT_MAX_BYTES = int(os.environ.get("TONGZHOU_IMPORT_MAX_MB", "200")) * 2**20
LINK_PREVIEW_MAX_PAGE_BYTES = 1_000_000  # the page head is all a card needs
LINK_PREVIEW_MAX_IMAGE_BYTES = 5_000_000
LINK_PREVIEW_MAX_REDIRECTS = 3
# Uploads are read whole (and checked) in memory; larger request bodies are refused early.
FILE_UPLOAD_MAX_MEMORY_SIZE = IMAGE_MAX_BYTES + 1_000_000

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {
        "handlers": ["console"],
        "level": os.environ.get("TONGZHOU_LOG_LEVEL", "INFO").upper(),
    },
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # The worker loop would log every poll; failures still show.
        "django_tasks_db": {"level": "WARNING"},
        "django_tasks": {"level": "WARNING"},
    },
}

# Safety (safety/): crisis lines shown to a member in crisis, by their region; the operator
# may replace the shipped list (see docs/deploy.md).
CRISIS_RESOURCES = os.environ.get("TONGZHOU_CRISIS_RESOURCES", "")
CRISIS_DEFAULT_REGION = os.environ.get("TONGZHOU_CRISIS_REGION", "cn")
# Rate limits: (how many, within seconds). Past them the person is asked to wait.
RATE_LIMITS = {
    "send_minute": (20, 60),
    "send_hour": (300, 3600),
    "application_day": (5, 86400),
    "report_hour": (20, 3600),
    "dm_start_hour": (5, 3600),  # new direct conversations a member may start
    "dm_start_day": (10, 86400),
}


def _rate_limits(text: str) -> dict[str, tuple[int, int]]:
    """TONGZHOU_RATE_LIMITS="send_minute=40/60,send_hour=600/3600" overrides some limits."""
    limits = dict(RATE_LIMITS)
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _sep, value = item.partition("=")
        count, _slash, seconds = value.partition("/")
        if name.strip() not in RATE_LIMITS or not count.isdigit() or not seconds.isdigit():
            raise ImproperlyConfigured(
                f"TONGZHOU_RATE_LIMITS: {item!r} is not NAME=COUNT/SECONDS with NAME one of "
                + ", ".join(RATE_LIMITS)
            )
        limits[name.strip()] = (int(count), int(seconds))
    return limits


RATE_LIMITS = _rate_limits(os.environ.get("TONGZHOU_RATE_LIMITS", ""))
