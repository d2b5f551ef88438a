"""Security headers, cookies and `manage.py check --deploy` with production settings."""

import os
import re
import subprocess
import sys

import pytest
from django.test import override_settings

from tests.services import ROOT

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "prod-like-" + "k3y" * 20,
    "ALLOWED_HOSTS": "support.example.com",
    "PUBLIC_BASE_URL": "https://support.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://support.example.com",
    "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_PRELOAD": "true",
    "REDIS_URL": "redis://127.0.0.1:6379/11",
}


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    # A clean production-like environment: no overrides left by other tests (browser tests
    # set DJANGO_ALLOW_ASYNC_UNSAFE for Playwright, which check --deploy rightly refuses).
    child = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SECURE_", "SESSION_", "CSRF_")) and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    child.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=child, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_with_production_settings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_flags_an_insecure_configuration():
    env = dict(PRODUCTION_ENV, SECURE_SSL_REDIRECT="false", PUBLIC_BASE_URL="http://support.example.com")
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode != 0
    assert "security.W008" in result.stderr + result.stdout


def test_without_redis_the_rate_limit_cache_check_is_silenced_deliberately():
    result = _manage("check", REDIS_URL="", DEBUG="true", SECRET_KEY="x" * 40)
    assert result.returncode == 0, result.stderr
    assert "django_ratelimit" not in result.stderr


@pytest.mark.django_db
def test_responses_carry_the_security_headers(client):
    response = client.get("/health")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-eval" not in csp


@pytest.mark.django_db
@override_settings(SECURE_HSTS_SECONDS=31_536_000, SECURE_HSTS_INCLUDE_SUBDOMAINS=True)
def test_https_responses_carry_hsts(client):
    response = client.get("/health", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


@pytest.mark.django_db
@override_settings(SECURE_SSL_REDIRECT=True)
def test_ssl_redirect_spares_the_probes_and_the_scraper(client):
    assert client.get("/v1/tickets").status_code == 301
    assert client.get("/health/live").status_code == 200
    assert client.get("/metrics").status_code == 200


def test_https_public_url_turns_on_secure_cookies_and_hsts():
    script = (
        "from django.conf import settings as s;"
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS,"
        " s.SECURE_PROXY_SSL_HEADER)"
    )
    result = _manage("shell", "-c", script, **PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split()[:3] == ["True", "True", "31536000"]
    assert "HTTP_X_FORWARDED_PROTO" in result.stdout


@pytest.mark.django_db
def test_docs_page_runs_no_inline_script_so_the_csp_allows_it(admin_client):
    page = admin_client.get("/docs")
    assert page.status_code == 200
    html = page.content.decode()
    inline = [
        body for attrs, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S) if body.strip()
    ]
    assert inline == []
    init_src = re.search(r'<script src="([^"]*script=[^"]*)"', html)
    assert init_src, html
    script = admin_client.get(init_src.group(1).replace("&amp;", "&"))
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()


@pytest.mark.django_db
def test_admin_pages_run_no_inline_script(admin_client):
    html = admin_client.get("/admin/").content.decode()
    executable = [
        body
        for attrs, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
        if body.strip() and "application/json" not in attrs
    ]
    assert executable == []


def test_check_deploy_warns_when_rate_limits_lack_redis_or_metrics_are_public():
    env = dict(PRODUCTION_ENV, REDIS_URL="", METRICS_ALLOWED_IPS="0.0.0.0/0")
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode != 0
    assert "supporthub.W001" in result.stderr
    assert "supporthub.W002" in result.stderr
