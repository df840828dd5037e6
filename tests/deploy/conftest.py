import os
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "nginx" / "educa.conf.template"
RENDER = ROOT / "nginx" / "render.sh"


def render_nginx(tmp_path: Path, **env: str) -> str:
    """The template as nginx/render.sh renders it with `env` (and its own defaults)."""
    output = tmp_path / "nginx.conf"
    clean = {key: value for key, value in os.environ.items() if not key.startswith("NGINX_")}
    clean.pop("UPLOAD_MAX_BYTES", None)
    clean["NGINX_TEMP_DIR"] = str(tmp_path / "temp")
    subprocess.run(
        ["sh", str(RENDER), str(TEMPLATE), str(output)],
        env={**clean, **env},
        check=True,
        capture_output=True,
    )
    return output.read_text()


@pytest.fixture(scope="session")
def compose() -> dict:
    return YAML(typ="safe").load((ROOT / "docker-compose.prod.yml").read_text())


@pytest.fixture
def compose_nginx_conf(compose, tmp_path) -> str:
    """The template rendered with the environment Compose gives the nginx service."""
    # Values Compose interpolates from .env are left to render.sh's defaults.
    env = {
        key: str(value)
        for key, value in compose["services"]["nginx"]["environment"].items()
        if not str(value).startswith("${")
    }
    return render_nginx(tmp_path, **env)
