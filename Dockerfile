# One image for web, worker and beat (see docker-compose.yml).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 MES_VAR_DIR=/app/var
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
