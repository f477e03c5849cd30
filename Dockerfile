# One image for the web server, the Celery worker and Celery beat (see docker-compose.yml).
FROM python:3.11-slim

# gunicorn's workers, threads and timeouts come from gunicorn.conf.py (sized from the CPUs the
# container may use; WEB_CONCURRENCY, WEB_THREADS and the other variables it names override them).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --system --create-home --uid 10001 --user-group lockstep
WORKDIR /app

# Dependencies first, so code changes rebuild only the layers below.
COPY requirements.lock ./
RUN pip install -r requirements.lock

COPY . .
# Static files are hashed and compressed at build time; settings insist on a SECRET_KEY when
# DEBUG is off, so a throwaway one is given to this step only and never reaches the image env.
RUN SECRET_KEY=collectstatic-only-not-a-real-key DEBUG=0 python manage.py collectstatic --noinput \
    && mkdir -p /app/var \
    && chown -R lockstep:lockstep /app/var

USER lockstep
EXPOSE 8000

# The web server by default; docker-compose.yml runs the worker and beat from the same image.
# gunicorn runs as PID 1 (exec form), so `docker stop`'s SIGTERM reaches it and requests in flight
# are finished (graceful_timeout) before it exits.
CMD ["gunicorn", "-c", "gunicorn.conf.py", "pipeline.wsgi:application", "--bind", "0.0.0.0:8000"]
