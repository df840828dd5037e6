#!/usr/bin/env python3
"""Container health check: GET a path from uWSGI (uwsgi protocol) or Daphne (HTTP), standard
library only. Exit status 0 when the answer is 200.

    python deploy/healthcheck.py uwsgi 127.0.0.1:8000 /healthz
    python deploy/healthcheck.py http 127.0.0.1:8001 /healthz

The Host header is the first entry of DJANGO_ALLOWED_HOSTS, so Django's host validation passes;
the request says it came over HTTPS as Nginx would, so the HTTPS redirect does not apply.
"""

import os
import socket
import struct
import sys

TIMEOUT = 5.0


def allowed_host() -> str:
    for host in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(","):
        host = host.strip().lstrip(".")
        if host and host != "*":
            return host
    return "localhost"


def _uwsgi_packet(variables: dict[str, str]) -> bytes:
    body = b"".join(
        struct.pack("<H", len(key)) + key + struct.pack("<H", len(value)) + value
        for key, value in ((k.encode(), v.encode()) for k, v in variables.items())
    )
    return struct.pack("<BHB", 0, len(body), 0) + body


def request_uwsgi(address: tuple[str, int], path: str) -> bytes:
    host = allowed_host()
    packet = _uwsgi_packet(
        {
            "REQUEST_METHOD": "GET",
            "REQUEST_URI": path,
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": host,
            "SERVER_PORT": "443",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": host,
            "HTTPS": "on",
            "HTTP_X_FORWARDED_PROTO": "https",
        }
    )
    with socket.create_connection(address, timeout=TIMEOUT) as sock:
        sock.sendall(packet)
        return _read_all(sock)


def request_http(address: tuple[str, int], path: str) -> bytes:
    request = (
        f"GET {path} HTTP/1.0\r\nHost: {allowed_host()}\r\n"
        "X-Forwarded-Proto: https\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection(address, timeout=TIMEOUT) as sock:
        sock.sendall(request.encode())
        return _read_all(sock)


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def status_of(response: bytes) -> int:
    status_line = response.split(b"\r\n", 1)[0].split()
    return int(status_line[1]) if len(status_line) > 1 and status_line[1].isdigit() else 0


def main(argv: list[str]) -> int:
    if len(argv) != 4 or argv[1] not in {"uwsgi", "http"}:
        print(__doc__, file=sys.stderr)
        return 2
    host, _, port = argv[2].rpartition(":")
    request = request_uwsgi if argv[1] == "uwsgi" else request_http
    try:
        response = request((host or "127.0.0.1", int(port)), argv[3])
    except OSError as error:
        print(f"unhealthy: {error}", file=sys.stderr)
        return 1
    status = status_of(response)
    if status != 200:
        print(f"unhealthy: HTTP {status}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
