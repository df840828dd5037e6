"""A self-signed certificate for the native stack (`make cert`): local use only, never committed."""

import subprocess
from pathlib import Path


def make_certificate(out: Path) -> None:
    """educa.crt and educa.key in `out`, for localhost, 127.0.0.1 and ::1."""
    out.mkdir(parents=True, exist_ok=True)
    key, cert = out / "educa.key", out / "educa.crt"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "825",
         "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert),
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1",
         "-addext", "basicConstraints=critical,CA:FALSE"],
        check=True, capture_output=True,
    )  # fmt: skip
    key.chmod(0o600)
    print(f"Self-signed certificate: {cert} (key {key})")
