# Production image: gunicorn web, Celery worker and beat share it (see docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY billspree ./billspree
COPY meters ./meters
COPY readings ./readings
COPY tenants ./tenants
COPY tariffs ./tariffs
COPY billing ./billing
COPY gateways ./gateways
RUN pip install .
COPY . .
RUN SECRET_KEY=build DATABASE_URL=postgres://build@localhost/build python manage.py collectstatic --noinput \
 && useradd --system --uid 1000 billspree && mkdir -p /app/media && chown billspree /app/media
USER billspree
EXPOSE 8000
CMD ["gunicorn", "billspree.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
