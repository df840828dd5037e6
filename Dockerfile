# syntax=docker/dockerfile:1
# Educa's images, built by docker-compose.prod.yml:
#   target `app`   - Django under uWSGI (web), Daphne (daphne) and the one-shot migrate service;
#                    runs as the unprivileged user `educa`.
#   target `nginx` - Nginx with nginx/educa.conf.template, rendered at start by nginx/render.sh.

ARG PYTHON_VERSION=3.11
ARG NGINX_VERSION=1.27

# ---- build: compile the wheels (uWSGI needs a C compiler, PyICU ICU's headers) into a virtualenv
FROM python:${PYTHON_VERSION}-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential libicu-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
COPY requirements/ /tmp/requirements/
RUN /opt/venv/bin/pip install -r /tmp/requirements/prod.txt

# ---- messages: the translations compiled (locale/*/LC_MESSAGES/*.mo; git holds only the .po)
FROM python:${PYTHON_VERSION}-slim-bookworm AS messages
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/*
COPY locale/ /tmp/locale/
RUN for po in /tmp/locale/*/LC_MESSAGES/*.po; do msgfmt --check -o "${po%.po}.mo" "$po"; done

# ---- app: the runtime, without compilers; code owned by root, only /srv/educa writable
FROM python:${PYTHON_VERSION}-slim-bookworm AS app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=educa.settings.prod \
    DJANGO_STATIC_ROOT=/srv/educa/static \
    DJANGO_MEDIA_ROOT=/srv/educa/media \
    WEB_BIND=0.0.0.0:8000 \
    DAPHNE_PORT=8001
RUN apt-get update \
    && apt-get install -y --no-install-recommends media-types libicu72 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 1000 educa \
    && useradd --system --uid 1000 --gid educa --home-dir /app --shell /usr/sbin/nologin educa \
    && mkdir -p /srv/educa/static /srv/educa/media \
    && chown -R educa:educa /srv/educa
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY . /app
COPY --from=messages /tmp/locale/ /app/locale/
RUN python -m compileall -q /app
USER educa
EXPOSE 8000 8001
CMD ["uwsgi", "--ini", "/app/deploy/uwsgi.ini"]

# ---- nginx: TLS, static files, X-Accel-Redirect media, and the proxy to uWSGI and Daphne
FROM nginx:${NGINX_VERSION}-bookworm AS nginx
ENV NGINX_TEMPLATE=/etc/nginx/educa/educa.conf.template \
    NGINX_CONF_DIR=/etc/nginx/educa \
    NGINX_OUTPUT=/etc/nginx/nginx.conf
COPY nginx/ /etc/nginx/educa/
# The image's entrypoint runs /docker-entrypoint.d/*.sh before starting Nginx.
RUN rm -f /etc/nginx/conf.d/default.conf \
    && chmod 755 /etc/nginx/educa/render.sh \
    && ln -s /etc/nginx/educa/render.sh /docker-entrypoint.d/40-educa-render.sh
EXPOSE 80 443
