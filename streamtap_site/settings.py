"""streamtap settings.

Zero-config defaults run on one machine: SQLite (WAL) and recordings under ``data/``, and a
live bus that needs nothing installed. Environment variables switch to the scale-out setup:
``DATABASE_URL`` (PostgreSQL) and ``STREAMTAP_REDIS_URL`` (channels-redis).
"""

import os

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from streamtap_site.data_dir import BASE_DIR, STATIC_ROOT_NAME, data_dir, read_secret_key


def envbool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name}={value!r}: expected one of 1/0, true/false, yes/no, on/off")


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r}: expected a whole number") from None


def envfloat(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r}: expected a number") from None


# Settings only compute paths and read: the data directory, its static root and the generated
# secret key are made by `ensure_data_dir()` (streamtap_site/data_dir.py), which manage.py, the
# `streamtap` command, the ASGI entry point and the test suite call before they load settings.
DATA_DIR = data_dir()
# Empty only when no entry point made the key: Django then refuses to sign anything.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or read_secret_key(DATA_DIR)
DEBUG = envbool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "sessions.apps.TapSessionsConfig",
    "extraction.apps.ExtractionConfig",
    "output_search.apps.OutputSearchConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # script-src 'self': program output that slips into a page can never run.
    "streamtap_site.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Failed logins and API tokens are counted per client address; too many is a 429 a while.
    "streamtap_site.throttling.FailedCredentialsThrottleMiddleware",
    # Every page needs a login; the API answers 401/403 itself (token clients get no redirect).
    "streamtap_site.middleware.LoginRequiredExceptApiMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "streamtap_site.urls"
ASGI_APPLICATION = "streamtap_site.asgi.application"
WSGI_APPLICATION = None

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
                # The header's "N waiting" badge on every page.
                "streamtap_site.context_processors.waiting_prompts",
            ],
        },
    },
]

SQLITE_PATH = DATA_DIR / "streamtap.sqlite3"
DATABASES = {
    "default": dj_database_url.config(
        env="DATABASE_URL", default=f"sqlite:///{SQLITE_PATH}", conn_max_age=0
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # WAL lets the web server read while taps write; IMMEDIATE transactions take the
            # write lock up front so concurrent writers wait on busy_timeout instead of failing
            # with "database is locked" when a read transaction tries to upgrade.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": envfloat("STREAMTAP_SQLITE_TIMEOUT", 30.0),
        }
    )
    # Tests get their own file, never an in-memory database: the tap and the server are
    # separate processes and must see the same data. One file per test run (pid), so two runs
    # at once do not destroy each other's database.
    DATABASES["default"].setdefault("TEST", {})["NAME"] = str(
        DATA_DIR / f"test_streamtap_{os.getpid()}.sqlite3"
    )

elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A server that does not answer must fail fast (the tap's writer retries) rather than hang.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    # One test database per test run, as for SQLite.
    DATABASES["default"].setdefault("TEST", {})["NAME"] = (
        f"test_{DATABASES['default']['NAME']}_{os.getpid()}"
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("STREAMTAP_REDIS_URL", "")
# What this installation's channels and keys start with. Redis's database number (/0, /1)
# separates keys but not pub/sub channels, so two installations sharing one Redis need two
# prefixes, or each one's pages show the other's sessions of the same number.
REDIS_PREFIX = os.environ.get("STREAMTAP_REDIS_PREFIX") or "streamtap"
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": REDIS_PREFIX},
        }
    }
else:
    # One server process: the in-memory layer fans events out to its websockets. Taps are
    # other processes, so they do not use this layer: they push to the server's ingest
    # websocket (see sessions/live.py), which needs nothing installed.
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# "live": the highest seq announced live per session (sessions/live.py note_announced), read by
# every server worker when a page subscribes. With Redis it is shared by all workers and taps;
# otherwise it is this one server process's memory, where the ingest consumer writes it.
# "default" stays Django's own (per-process memory; the failure throttles count in it).
LIVE_CACHE_SECONDS = 24 * 3600
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "live": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"{REDIS_PREFIX}.live",
            "TIMEOUT": LIVE_CACHE_SECONDS,
        }
        if REDIS_URL
        else {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "streamtap-live",
            "TIMEOUT": LIVE_CACHE_SECONDS,
            "OPTIONS": {"MAX_ENTRIES": 10_000},
        }
    ),
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "st-overview"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("STREAMTAP_TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / STATIC_ROOT_NAME  # made by ensure_data_dir(); pages use the finders
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from the app/static dirs: no collectstatic step for a fresh clone.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Production (behind TLS): STREAMTAP_SECURE=1 turns on what `check --deploy` asks for.
if envbool("STREAMTAP_SECURE", False):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = envbool("STREAMTAP_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = envint("STREAMTAP_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

REST_FRAMEWORK = {
    # Token first: DRF answers an anonymous request with the first class's challenge, and a
    # 401 with "WWW-Authenticate: Token" is what a REST client should get, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "user": "6000/min",
        # Failures per client address (streamtap_site/throttling.py).
        "bad_token": os.environ.get("STREAMTAP_BAD_TOKEN_RATE", "20/min"),
        "bad_login": os.environ.get("STREAMTAP_BAD_LOGIN_RATE", "10/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "streamtap API",
    "DESCRIPTION": "Sessions, extraction events, code blocks and review for wrapped processes.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"SessionStatusEnum": "sessions.models.SessionStatus"},
}

# App tunables in one place (read as settings.STREAMTAP["..."]).
STREAMTAP = {
    "BATCH_SIZE": envint("STREAMTAP_BATCH_SIZE", 100),
    "BATCH_SECONDS": envfloat("STREAMTAP_BATCH_SECONDS", 5.0),
    # A tap's writer stamps last_heartbeat at least this often; the server calls a session whose
    # stamp is three intervals old "lost" (ProcessSession.objects.mark_lost).
    "HEARTBEAT_SECONDS": envfloat("STREAMTAP_HEARTBEAT_SECONDS", 30.0),
    "RECORDINGS_DIR": str(DATA_DIR / "recordings"),
    "SPILL_DIR": str(DATA_DIR / "spill"),
    "RULES_FILE": os.environ.get("STREAMTAP_RULES", ""),
    # Empty: the server `manage.py serve` runs on this data directory (server.json), or :8000.
    "SERVER_URL": os.environ.get("STREAMTAP_SERVER_URL", ""),
    "API_TOKEN": os.environ.get("STREAMTAP_TOKEN", ""),
    "RETENTION_DAYS": envint("STREAMTAP_RETENTION_DAYS", 0),
    "PROMPT_TIMEOUT": envfloat("STREAMTAP_PROMPT_TIMEOUT", 0.0),
    "PRECISION_THRESHOLD": envfloat("STREAMTAP_PRECISION_THRESHOLD", 0.5),
    "FINISH_TIMEOUT": envfloat("STREAMTAP_FINISH_TIMEOUT", 60.0),
    # Request bodies larger than this are refused before they are read (streamtap_site/guard.py).
    "MAX_REQUEST_BYTES": envint("STREAMTAP_MAX_REQUEST_BYTES", 16 * 1024 * 1024),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("STREAMTAP_LOG_LEVEL", "WARNING")},
}
