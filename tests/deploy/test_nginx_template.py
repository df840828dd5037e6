"""nginx/educa.conf.template as nginx/render.sh renders it, checked by Debian's Nginx itself, and
served by it alone (no application behind it) for what Nginx answers by itself."""

import re
import shutil
import ssl
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from deploy.processes import free_port, wait_for_port
from tests.deploy.conftest import RENDER, TEMPLATE, render_nginx

ALLOWED_HOSTS = "educa.example.com,127.0.0.1"
PARENT_HOST = "courses.example.com"


def runnable_nginx_conf(directory: Path, **env: str) -> Path:
    """The template rendered into `directory` with a certificate, static and media folders and
    logs of its own, ready for `nginx -c`; upstreams are unused ports."""
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(directory / "k.pem"), "-out", str(directory / "c.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    for folder in ("static", "media"):
        (directory / folder).mkdir()
    conf = render_nginx(
        directory,
        **{
            "NGINX_PID_FILE": str(directory / "nginx.pid"),
            "NGINX_ERROR_LOG": str(directory / "error.log"),
            "NGINX_ACCESS_LOG": str(directory / "access.log"),
            "NGINX_HTTP_LISTEN": "127.0.0.1:1080",
            "NGINX_HTTPS_LISTEN": "127.0.0.1:1443",
            "NGINX_SSL_CERTIFICATE": str(directory / "c.pem"),
            "NGINX_SSL_CERTIFICATE_KEY": str(directory / "k.pem"),
            "NGINX_UWSGI_SERVER": "127.0.0.1:1001",
            "NGINX_DAPHNE_SERVERS": "server 127.0.0.1:1002; server 127.0.0.1:1003;",
            "NGINX_STATIC_ROOT": str(directory / "static"),
            "NGINX_MEDIA_ROOT": str(directory / "media"),
            **env,
        },
    )
    path = directory / "test.conf"
    path.write_text(conf)
    return path


def nginx_check(directory: Path, conf: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["nginx", "-t", "-p", str(directory), "-c", str(conf), "-e", str(directory / "error.log")],
        capture_output=True, text=True,
    )  # fmt: skip


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
    result = nginx_check(tmp_path, runnable_nginx_conf(tmp_path))
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


def test_uwsgi_gets_the_host_with_its_port(compose_nginx_conf):
    params = (RENDER.parent / "uwsgi_params").read_text()
    assert re.findall(r"^uwsgi_param\s+HTTP_HOST\s+(\S+);", params, re.MULTILINE) == ["$http_host"]


def test_daphne_gets_the_host_with_its_port(compose_nginx_conf):
    location = compose_nginx_conf.split("location /ws/ {")[1].split("}")[0]
    assert "proxy_set_header Host $http_host;" in location


def test_port_80_redirects_the_allowed_hosts_and_the_course_subdomains(tmp_path):
    conf = render_nginx(tmp_path, DJANGO_ALLOWED_HOSTS=ALLOWED_HOSTS, PARENT_HOST=PARENT_HOST)
    redirect = conf.split("return 301 ")[0].rsplit("server {", 1)[1]
    assert "server_name educa.example.com 127.0.0.1 .courses.example.com;" in redirect


def test_a_host_listed_with_its_subdomains_renders_without_nginx_warnings(tmp_path):
    # Nginx ignores ".example.com" whole (its subdomains too) when "example.com" is listed.
    conf = runnable_nginx_conf(
        tmp_path, DJANGO_ALLOWED_HOSTS="educa.example.com,.educa.example.com,educa.example.com"
    )
    result = nginx_check(tmp_path, conf)
    assert result.returncode == 0, result.stderr
    assert "[warn]" not in result.stderr
    assert "server_name .educa.example.com;" in conf.read_text()


@pytest.mark.parametrize("hosts", ["educa.example.com;include /etc/passwd", "a{b}", "$host"])
def test_an_allowed_host_that_is_no_host_name_stops_rendering(tmp_path, hosts):
    with pytest.raises(subprocess.CalledProcessError) as failure:
        render_nginx(tmp_path, DJANGO_ALLOWED_HOSTS=hosts)
    assert b"is not a host name" in failure.value.stderr


# --- Nginx alone, answering by itself ------------------------------------------------------------


@dataclass
class LoneNginx:
    http_port: int
    https_port: int
    cafile: Path

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=f"http://127.0.0.1:{self.http_port}", trust_env=False)

    def https(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"https://127.0.0.1:{self.https_port}",
            verify=ssl.create_default_context(cafile=str(self.cafile)),
            trust_env=False,
        )


@pytest.fixture(scope="module")
def lone_nginx():
    """Nginx with the rendered template and nothing behind it, on free ports."""
    # Not pytest's tmp_path (0700): Nginx's workers run as another user and read static files.
    directory = Path(tempfile.mkdtemp(prefix="educa-nginx-"))
    directory.chmod(0o755)
    http_port, https_port = free_port(), free_port()
    conf = runnable_nginx_conf(
        directory,
        DJANGO_ALLOWED_HOSTS=ALLOWED_HOSTS,
        PARENT_HOST=PARENT_HOST,
        NGINX_HTTP_LISTEN=f"127.0.0.1:{http_port}",
        NGINX_HTTPS_LISTEN=f"127.0.0.1:{https_port}",
        NGINX_HTTPS_PORT_SUFFIX=f":{https_port}",
        NGINX_UWSGI_SERVER=f"127.0.0.1:{free_port()}",
        NGINX_DAPHNE_SERVERS=f"server 127.0.0.1:{free_port()};",
    )
    (directory / "static" / "app.css").write_text("body { margin: 0 }\n")
    process = subprocess.Popen(
        ["nginx", "-p", str(directory), "-c", str(conf), "-e", str(directory / "error.log"),
         "-g", "daemon off;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port(https_port)
        yield LoneNginx(http_port, https_port, directory / "c.pem")
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.parametrize(
    "host", ["educa.example.com", "127.0.0.1", "courses.example.com", "python.courses.example.com"]
)
def test_port_80_redirects_an_allowed_host_to_https(lone_nginx, host):
    with lone_nginx.http() as client:
        response = client.get("/course/mine/?page=2", headers={"Host": host})
    assert response.status_code == 301
    assert response.headers["location"] == (
        f"https://{host}:{lone_nginx.https_port}/course/mine/?page=2"
    )


def test_port_80_answers_any_other_host_with_400_and_no_redirect(lone_nginx):
    with lone_nginx.http() as client:
        response = client.get("/", headers={"Host": "evil.example"})
    assert response.status_code == 400
    assert "location" not in response.headers


def test_a_missing_static_file_is_not_cached_for_a_year(lone_nginx):
    with lone_nginx.https() as client:
        present = client.get("/static/app.css")
        missing = client.get("/static/missing.css")
    assert present.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert missing.status_code == 404
    assert "cache-control" not in missing.headers


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "PROPFIND", "FOO"])
def test_a_method_no_view_answers_gets_405_with_allow(lone_nginx, method):
    with lone_nginx.https() as client:
        response = client.request(method, "/course/mine/")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
    assert "strict-transport-security" in response.headers


def test_a_write_to_a_static_file_gets_405_allowing_reads_only(lone_nginx):
    with lone_nginx.https() as client:
        response = client.post("/static/app.css", content=b"x")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


def test_default_body_cap_lets_a_chat_attachment_at_its_limit_reach_django(tmp_path, settings):
    conf = render_nginx(tmp_path)
    cap = int(re.search(r"client_max_body_size (\d+);", conf).group(1))

    # The largest attachment plus its multipart framing fits: the serializer, not Nginx, answers.
    assert cap > settings.CHAT_ATTACHMENT_MAX_BYTES + 64 * 1024
