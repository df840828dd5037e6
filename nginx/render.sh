#!/bin/sh
# Renders nginx/educa.conf.template into a complete nginx.conf with envsubst.
#
#   nginx/render.sh [TEMPLATE [OUTPUT]]
#
# The nginx image runs it from /docker-entrypoint.d/ (defaults below are the container's
# paths); deploy/stack.py runs it with the native stack's values. Only the ${NGINX_*}
# variables listed here are substituted, so Nginx's own $host, $uri... are left alone.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
template=${1:-${NGINX_TEMPLATE:-$here/educa.conf.template}}
output=${2:-${NGINX_OUTPUT:-/etc/nginx/nginx.conf}}

: "${UPLOAD_MAX_BYTES:=20971520}"
case $UPLOAD_MAX_BYTES in
    '' | *[!0-9]*) echo "render.sh: UPLOAD_MAX_BYTES must be a number of bytes" >&2; exit 1 ;;
esac
# Multipart overhead on top of the largest file the application accepts.
: "${NGINX_CLIENT_MAX_BODY_SIZE:=$((UPLOAD_MAX_BYTES + 1048576))}"

: "${NGINX_WORKER_PROCESSES:=auto}"
: "${NGINX_PID_FILE:=/var/run/nginx.pid}"
: "${NGINX_ERROR_LOG:=/dev/stderr}"
: "${NGINX_ACCESS_LOG:=/dev/stdout}"
: "${NGINX_TEMP_DIR:=/var/cache/nginx}"
: "${NGINX_CONF_DIR:=$here}"
: "${NGINX_HTTP_LISTEN:=80}"
: "${NGINX_HTTPS_LISTEN:=443}"
# ":8443" when clients reach HTTPS on a port other than 443.
: "${NGINX_HTTPS_PORT_SUFFIX=}"
: "${NGINX_SERVER_NAME:=_}"
# Hosts that port 80 redirects to HTTPS (server_name syntax), from the application's own
# settings: DJANGO_ALLOWED_HOSTS (".example.com" means the domain and its subdomains in Django
# and Nginx alike; "*" any host) and PARENT_HOST with its course subdomains. Any other Host gets
# 400. The default is Django's own default list.
: "${DJANGO_ALLOWED_HOSTS:=localhost,127.0.0.1,[::1]}"
set -f # "*" and "[::1]" are host names here, not file patterns
hosts=" $(printf '%s' "$DJANGO_ALLOWED_HOSTS" | tr ',' ' ') ${PARENT_HOST:+.$PARENT_HOST} "
NGINX_REDIRECT_HOSTS=" "
for host in $hosts; do
    case $(printf '%s' "$host" | tr -d '[]') in
        '*') host='~.' ;;
        '' | *[!A-Za-z0-9.:-]*)
            echo "render.sh: '$host' (DJANGO_ALLOWED_HOSTS, PARENT_HOST) is not a host name" >&2
            exit 1
            ;;
    esac
    # ".example.com" covers example.com too, and Nginx ignores it whole if both are listed.
    case $hosts in *" .$host "*) continue ;; esac
    case $NGINX_REDIRECT_HOSTS in *" $host "*) continue ;; esac
    NGINX_REDIRECT_HOSTS="$NGINX_REDIRECT_HOSTS$host "
done
# shellcheck disable=SC2086 # split on purpose, to trim the spaces
set -- $NGINX_REDIRECT_HOSTS
NGINX_REDIRECT_HOSTS=$*
set +f
: "${NGINX_SSL_CERTIFICATE:=/etc/nginx/certs/educa.crt}"
: "${NGINX_SSL_CERTIFICATE_KEY:=/etc/nginx/certs/educa.key}"
: "${NGINX_UWSGI_SERVER:=web:8000}"
# Several uWSGI servers as "server host:port; server host:port;" (the native stack runs two);
# NGINX_UWSGI_SERVER alone names one.
: "${NGINX_UWSGI_SERVERS:=server $NGINX_UWSGI_SERVER;}"
: "${NGINX_DAPHNE_SERVERS:=server daphne:8001;}"
: "${NGINX_STATIC_ROOT:=/srv/educa/static}"
: "${NGINX_MEDIA_ROOT:=/srv/educa/media}"

export NGINX_CLIENT_MAX_BODY_SIZE NGINX_WORKER_PROCESSES NGINX_PID_FILE NGINX_ERROR_LOG \
    NGINX_ACCESS_LOG NGINX_TEMP_DIR NGINX_CONF_DIR NGINX_HTTP_LISTEN NGINX_HTTPS_LISTEN \
    NGINX_HTTPS_PORT_SUFFIX NGINX_SERVER_NAME NGINX_REDIRECT_HOSTS NGINX_SSL_CERTIFICATE \
    NGINX_SSL_CERTIFICATE_KEY NGINX_UWSGI_SERVERS NGINX_DAPHNE_SERVERS NGINX_STATIC_ROOT \
    NGINX_MEDIA_ROOT

mkdir -p "$NGINX_TEMP_DIR"
# shellcheck disable=SC2016 # the list names variables for envsubst; the shell must not expand it
envsubst '${NGINX_CLIENT_MAX_BODY_SIZE} ${NGINX_WORKER_PROCESSES} ${NGINX_PID_FILE}
${NGINX_ERROR_LOG} ${NGINX_ACCESS_LOG} ${NGINX_TEMP_DIR} ${NGINX_CONF_DIR} ${NGINX_HTTP_LISTEN}
${NGINX_HTTPS_LISTEN} ${NGINX_HTTPS_PORT_SUFFIX} ${NGINX_SERVER_NAME} ${NGINX_REDIRECT_HOSTS}
${NGINX_SSL_CERTIFICATE} ${NGINX_SSL_CERTIFICATE_KEY} ${NGINX_UWSGI_SERVERS}
${NGINX_DAPHNE_SERVERS} ${NGINX_STATIC_ROOT} ${NGINX_MEDIA_ROOT}' <"$template" >"$output.tmp"
mv "$output.tmp" "$output"
echo "render.sh: wrote $output"
