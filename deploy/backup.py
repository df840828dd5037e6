"""Backup and restore of the native stack (`make backup`, `make restore DIR=...`).

A backup is a pg_dump snapshot (consistent by itself) and then an archive of the media folder,
so every file the dump references is in the archive.
"""

import datetime
import json
import shutil
import socket
import tarfile
from pathlib import Path

from deploy.processes import ROOT, ProcessError, postgres_bin, run
from deploy.stack import Stack


def database_tool(tool: str) -> str:
    """The cluster's own pg_dump / pg_restore when PostgreSQL is installed here, else PATH's."""
    own = postgres_bin() / tool
    return str(own) if own.exists() else tool


def started_stack(stack: Stack) -> Stack:
    if "database_url" not in stack.state:
        raise ProcessError("no stack here: start it with `make prod` first")
    return stack


def backup(stack: Stack, out: Path | None = None) -> Path:
    started_stack(stack)
    stamp = datetime.datetime.now(tz=datetime.UTC).strftime("%Y%m%d-%H%M%S")
    target = (out or ROOT / "backups" / stamp).resolve()
    target.mkdir(parents=True, exist_ok=False)
    dump = target / "database.dump"
    # The dump comes first: every file it references was on disk when the archive is made.
    run(
        [database_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
         f"--file={dump}", f"--dbname={stack.state['database_url']}"],
        what="pg_dump",
    )  # fmt: skip
    media = Path(stack.state["app_env"]["DJANGO_MEDIA_ROOT"])
    with tarfile.open(target / "media.tar.gz", "w:gz") as archive:
        archive.add(media, arcname="media")
    manifest = {
        "created": datetime.datetime.now(tz=datetime.UTC).isoformat(),
        "database": dump.name,
        "media": "media.tar.gz",
    }
    (target / "manifest.json").write_text(json.dumps(manifest, indent=2))
    print(f"Backup written to {target}")
    return target


def restore(stack: Stack, source: Path) -> None:
    """Into the running stack's database (one transaction) and media folder; for an empty or
    disposable stack."""
    source = source.resolve()
    dump, archive_path = source / "database.dump", source / "media.tar.gz"
    if not dump.exists() or not archive_path.exists():
        raise ProcessError(f"{source} holds no database.dump and media.tar.gz")
    started_stack(stack)
    run(
        [database_tool("pg_restore"), "--clean", "--if-exists", "--no-owner",
         "--no-privileges", "--single-transaction", "--exit-on-error",
         f"--dbname={stack.state['database_url']}", str(dump)],
        what="pg_restore",
    )  # fmt: skip
    media = Path(stack.state["app_env"]["DJANGO_MEDIA_ROOT"])
    incoming = media.with_name("media.restoring")
    shutil.rmtree(incoming, ignore_errors=True)
    incoming.mkdir()
    with tarfile.open(archive_path) as archive:
        archive.extractall(incoming, filter="data")
    shutil.rmtree(media, ignore_errors=True)
    (incoming / "media").rename(media)
    media.chmod(0o755)
    incoming.rmdir()
    flush_cache(stack)
    print(f"Restored {source}")


def flush_cache(stack: Stack) -> None:
    """Cached pages of the old data must not outlive the restore."""
    try:
        with socket.create_connection((stack.bind, stack.ports["memcached"]), timeout=2) as sock:
            sock.sendall(b"flush_all\r\n")
            sock.recv(64)
    except OSError:
        print("warning: Memcached did not answer; restart it to drop cached pages")
