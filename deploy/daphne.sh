#!/bin/sh
# Daphne serves educa.asgi (the /ws/ WebSockets) behind Nginx. Used by the `daphne` container and
# by the native stack, which starts two of them on different ports.
#
# Environment: DAPHNE_BIND (default 0.0.0.0), DAPHNE_PORT (default 8001).
#
# SIGTERM drains the process (educa/asgi.py): /readyz answers 503, new WebSocket handshakes are
# refused (403, which Nginx passes to another Daphne), each socket's frames already received are
# stored and acknowledged, then every socket is closed with 1012 and Daphne exits, within
# CHAT_DRAIN_SECONDS (default 10): give the supervisor's kill timeout more than that (Compose's
# stop_grace_period is 15 s). A second SIGTERM stops at once.
set -eu

export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-educa.settings.prod}"
# Persistent connections leak under ASGI: no CONN_MAX_AGE; psycopg's pool lends health-checked
# connections instead (DJANGO_DB_POOL=0 opens one per database access).
export DJANGO_CONN_MAX_AGE=0
export DJANGO_DB_POOL="${DJANGO_DB_POOL:-1}"

cd "$(dirname "$0")/.."
# --proxy-headers: the client address comes from Nginx's X-Forwarded-For.
# --ping-interval 20: below Nginx's 90 s proxy_read_timeout, so idle sockets stay up.
# --websocket-max-message-size 65536: a bigger frame closes the socket with 1009.
exec daphne \
    --bind "${DAPHNE_BIND:-0.0.0.0}" \
    --port "${DAPHNE_PORT:-8001}" \
    --proxy-headers \
    --ping-interval 20 \
    --ping-timeout 30 \
    --websocket-max-message-size 65536 \
    --application-close-timeout 10 \
    --no-server-name \
    --access-log - \
    educa.asgi:application
