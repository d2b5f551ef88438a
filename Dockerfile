# syntax=docker/dockerfile:1
# One image for web, worker, beat and release (the command picks the role; see Procfile).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

COPY requirements.txt .
RUN pip install uv==0.13.8 \
    && uv pip install --system -r requirements.txt

COPY . .

# collectstatic needs settings to load; the key here is only for that build step.
RUN SECRET_KEY=build-only-collectstatic-key-0123456789abcdef python manage.py collectstatic --noinput -v0 \
    && useradd --system --uid 10001 --home-dir /app supporthub \
    && mkdir -p /app/var/prometheus /app/var/attachments \
    && chown -R supporthub /app/var

USER supporthub
EXPOSE 8000
ENV HOST=0.0.0.0 PORT=8000 PROMETHEUS_MULTIPROC_DIR=/app/var/prometheus

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\", \"8000\")}/health/live', timeout=4)" || exit 1

CMD ["sh", "-c", "exec gunicorn supporthub.wsgi --bind ${HOST}:${PORT} --workers ${WEB_CONCURRENCY:-3} --threads ${WEB_THREADS:-1} --no-control-socket --access-logfile - --forwarded-allow-ips \"${FORWARDED_ALLOW_IPS:-127.0.0.1}\""]
