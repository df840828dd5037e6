"""The native stack: Educa's production configuration on one machine, no Docker.

A local harness, not a process supervisor: it starts PostgreSQL (a cluster of its own in the
state folder unless DATABASE_URL is set), Redis, Memcached, two uWSGI (deploy/uwsgi.ini) and two
Daphne processes (deploy/daphne.sh) and Nginx with the rendered nginx/educa.conf.template and a
self-signed certificate, all on loopback, and a process that runs send_mention_emails every
minute (deploy/periodic.py), for trying the production configuration, the
deployment tests and the benchmark. Nothing restarts a process that dies. To serve users, run
the Compose file (restart policies and health checks) or your own supervisor (systemd) with the
same uwsgi.ini, daphne.sh and Nginx template.

Everything it starts is recorded in <state>/stack.json, so `stop` stops exactly that.

    python -m deploy.native start            # make prod
    python -m deploy.native stop             # make prod-stop
    python -m deploy.native status
    python -m deploy.native service-stop redis    # and service-start: one part only
    python -m deploy.native service-stop daphne-1 # one instance (uwsgi-1, ...): a rolling restart
    python -m deploy.native manage createsuperuser  # manage.py with the stack's environment
    python -m deploy.native backup [--out DIR]      # make backup
    python -m deploy.native restore DIR             # make restore DIR=...
    python -m deploy.native cert [--out DIR]        # make cert

Environment: PROD_STATE_DIR (.prod), PROD_BIND (127.0.0.1), PROD_HTTP_PORT (8080),
PROD_HTTPS_PORT (8443), PROD_CERT_DIR (certs), PROD_UWSGI_COUNT (2), PROD_DAPHNE_COUNT (2),
DATABASE_URL, UPLOAD_MAX_BYTES, WEB_PROCESSES, WEB_THREADS, NGINX_WORKER_PROCESSES, EMAIL_URL,
PARENT_HOST.
Standard library only: `cert` works before the virtualenv exists.
"""

import argparse
import os
import sys
from pathlib import Path

from deploy.backup import backup, restore
from deploy.certificate import make_certificate
from deploy.processes import ROOT, ProcessError
from deploy.stack import INSTANCES, SERVICES, Stack


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.native", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--state-dir", type=Path, default=Path(os.environ.get("PROD_STATE_DIR", ROOT / ".prod"))
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("start")
    commands.add_parser("stop")
    commands.add_parser("status")
    for name in ("service-stop", "service-start"):
        command = commands.add_parser(name)
        command.add_argument(
            "service",
            choices=[*SERVICES, *(f"{kind}-{n}" for kind in INSTANCES for n in range(1, 5))],
        )
    manage = commands.add_parser("manage")
    manage.add_argument("arguments", nargs=argparse.REMAINDER)
    commands.add_parser("backup").add_argument("--out", type=Path)
    commands.add_parser("restore").add_argument("source", type=Path)
    cert = commands.add_parser("cert")
    cert.add_argument("--out", type=Path, default=ROOT / "certs")
    cert.add_argument("--force", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    options = parser().parse_args(argv)
    if options.command == "cert":
        if (options.out / "educa.crt").exists() and not options.force:
            print(f"{options.out / 'educa.crt'} exists (--force to replace it)")
        else:
            make_certificate(options.out)
        return 0
    stack = Stack(options.state_dir)
    try:
        match options.command:
            case "start":
                stack.start()
            case "stop":
                stack.stop()
            case "status":
                return stack.status()
            case "service-stop":
                stack.stop_service(options.service)
            case "service-start":
                stack.start_service(options.service)
            case "manage":
                return stack.manage(options.arguments)
            case "backup":
                backup(stack, options.out)
            case "restore":
                restore(stack, options.source)
    except ProcessError as error:
        print(f"native stack: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
