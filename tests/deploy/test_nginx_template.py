"""nginx/educa.conf.template as nginx/render.sh renders it, checked by Debian's Nginx itself."""

import re
import subprocess

from tests.deploy.conftest import RENDER, TEMPLATE, render_nginx


def test_render_script_substitutes_exactly_the_template_variables():
    used = set(re.findall(r"\$\{(NGINX_[A-Z_]+)\}", TEMPLATE.read_text()))
    listed = set(re.findall(r"\$\{(NGINX_[A-Z_]+)\}", RENDER.read_text().split("envsubst '")[1]))
    assert used == listed


def test_nginx_own_variables_survive_rendering(compose_nginx_conf):
    assert "${" not in compose_nginx_conf
    for variable in ("$host", "$request_uri", "$http_upgrade", "$remote_addr", "$scheme"):
        assert variable in compose_nginx_conf


def test_body_cap_is_the_upload_limit_plus_one_mebibyte(tmp_path):
    conf = render_nginx(tmp_path, UPLOAD_MAX_BYTES="5000000")
    assert "client_max_body_size 6048576;" in conf


def test_rendered_configuration_passes_nginx_syntax_check(tmp_path):
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-keyout", str(tmp_path / "k.pem"),
         "-out", str(tmp_path / "c.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    for folder in ("static", "media"):
        (tmp_path / folder).mkdir()
    conf = render_nginx(
        tmp_path,
        NGINX_PID_FILE=str(tmp_path / "nginx.pid"),
        NGINX_ERROR_LOG=str(tmp_path / "error.log"),
        NGINX_ACCESS_LOG=str(tmp_path / "access.log"),
        NGINX_HTTP_LISTEN="127.0.0.1:1080",
        NGINX_HTTPS_LISTEN="127.0.0.1:1443",
        NGINX_SSL_CERTIFICATE=str(tmp_path / "c.pem"),
        NGINX_SSL_CERTIFICATE_KEY=str(tmp_path / "k.pem"),
        NGINX_UWSGI_SERVER="127.0.0.1:1001",
        NGINX_DAPHNE_SERVERS="server 127.0.0.1:1002; server 127.0.0.1:1003;",
        NGINX_STATIC_ROOT=str(tmp_path / "static"),
        NGINX_MEDIA_ROOT=str(tmp_path / "media"),
    )
    (tmp_path / "test.conf").write_text(conf)
    result = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "test.conf"),
         "-e", str(tmp_path / "error.log")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


def test_http_redirects_to_https_with_the_public_port(tmp_path):
    conf = render_nginx(tmp_path, NGINX_HTTPS_PORT_SUFFIX=":8443")
    assert "return 301 https://$host:8443$request_uri;" in conf


def test_websocket_read_timeout_outlasts_daphne_pings(compose_nginx_conf):
    location = compose_nginx_conf.split("location /ws/ {")[1].split("}")[0]
    timeout = int(re.search(r"proxy_read_timeout (\d+)s;", location)[1])
    daphne_script = (RENDER.parent.parent / "deploy" / "daphne.sh").read_text()
    ping_interval = int(re.search(r"--ping-interval (\d+)", daphne_script)[1])
    assert timeout > ping_interval
    for header in ("Upgrade", "Connection", "Host", "X-Forwarded-For", "X-Forwarded-Proto"):
        assert f"proxy_set_header {header} " in location
