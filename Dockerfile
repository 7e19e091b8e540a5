# Production image of the portal: gunicorn on :8000; the same image runs the Celery
# worker and beat (see docker-compose.yml). Configuration comes from the environment
# (see .env.example); PORTAL_SECRET_KEY must be given at run time.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

COPY requirements.txt ./
RUN pip install -r requirements.txt

RUN groupadd --system portal \
    && useradd --system --gid portal --home-dir /app --no-create-home --shell /usr/sbin/nologin portal

COPY . .

# Static files are collected into var/staticfiles at build time and served by whitenoise.
# The key below exists only for this build step; it is not kept in the image's environment.
RUN PORTAL_SECRET_KEY=collectstatic-build-only python manage.py collectstatic --noinput \
    && mkdir -p var \
    && chown -R portal:portal var

USER portal

EXPOSE 8000

CMD ["gunicorn", "portal.wsgi:application", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
