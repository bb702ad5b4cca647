# One image for web, worker and beat (see docker-compose.yml).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 MES_VAR_DIR=/app/var
# The commit the image was built from: mes.version reports <version>-<commit> (make release).
ARG MES_COMMIT=unknown
ENV MES_COMMIT=${MES_COMMIT}
# pg_dump and pg_restore for `snapshot create --dump` (docs/releases.md).
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY mes ./mes
COPY inventory ./inventory
COPY workorders ./workorders
COPY integrations ./integrations
COPY monitoring ./monitoring
RUN pip install --no-cache-dir .
COPY . .
RUN pybabel compile -d locale -D django \
    && DJANGO_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(64))')" \
       python manage.py collectstatic --noinput --verbosity 0
EXPOSE 8000
CMD ["gunicorn", "mes.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--logger-class", "mes.logs.GunicornLogger"]
