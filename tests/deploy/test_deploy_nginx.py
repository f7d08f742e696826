"""deploy/nginx: `nginx -t` accepts the gateway (plain and with TLS on), and a running gateway routes each API
prefix to its service, keeps /metrics, /healthz and /readyz inside, and sends the security headers.

The configuration is rendered into a temporary prefix: upstreams on 127.0.0.1 (fake services that echo what
they received), free ports, and the temporary folder in place of /etc/nginx/renovo and /var/log/nginx.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.deploy.deploy_tools import DEPLOY, tool

NGINX = DEPLOY / "nginx"
SERVICES = {"auth": 8101, "albums": 8102, "jobs": 8103, "notifier": 8104}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Echo(BaseHTTPRequestHandler):
    """A fake service: answers with its name, the path and the headers it received."""

    service = "?"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        payload = json.dumps(
            {
                "service": self.service,
                "path": self.path,
                "method": self.command,
                "body_bytes": len(body),
                "headers": {k.lower(): v for k, v in self.headers.items()},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_DELETE = _answer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
        pass


@dataclass
class Gateway:
    prefix: Path
    config: Path
    http_port: int
    health_port: int
    https_port: int
    upstreams: dict[str, int]


def render(tmp: Path, tls: bool) -> Gateway:
    """The gateway's files, rewritten to run from `tmp`."""
    renovo = tmp / "renovo"
    (renovo / "tls").mkdir(parents=True)
    (tmp / "logs").mkdir()
    html = tmp / "html"
    (html / "assets").mkdir(parents=True)
    (html / "index.html").write_text("<!doctype html><title>Renovo</title>")
    (html / "assets" / "app-1234.js").write_text("console.log('renovo')")
    upstreams = {name: free_port() for name in SERVICES}
    http_port, health_port, https_port = free_port(), free_port(), free_port()

    def rewrite(text: str) -> str:
        text = text.replace("/etc/nginx/renovo/", f"{renovo}/").replace("/var/log/nginx/", f"{tmp}/logs/")
        text = text.replace("root /usr/share/nginx/html;", f"root {html};")
        for name, port in SERVICES.items():
            text = text.replace(f"server {name}:{port};", f"server 127.0.0.1:{upstreams[name]};")
        text = text.replace("listen 8080 ", f"listen 127.0.0.1:{http_port} ")
        text = text.replace("listen 8081;", f"listen 127.0.0.1:{health_port};")
        text = text.replace("listen 8443 ", f"listen 127.0.0.1:{https_port} ")
        return text

    gateway = rewrite((NGINX / "gateway.conf").read_text())
    assert "upstream" in gateway and "127.0.0.1" in gateway
    (tmp / "gateway.conf").write_text(gateway)
    for name in ("renovo-locations.conf", "security-headers.conf"):
        (renovo / name).write_text(rewrite((NGINX / name).read_text()))
    if tls:
        (renovo / "tls" / "server-tls.conf").write_text(
            rewrite((NGINX / "tls" / "server-tls.conf.example").read_text())
        )
        (renovo / "tls" / "redirect-https.conf").write_text(
            (NGINX / "tls" / "redirect-https.conf.example").read_text()
        )
        subprocess.run(
            [
                tool("openssl"),
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=localhost",
                "-keyout",
                str(renovo / "tls" / "privkey.pem"),
                "-out",
                str(renovo / "tls" / "fullchain.pem"),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
    # The image's own nginx.conf around it (nginxinc/nginx-unprivileged: conf.d inside http{}).
    user = "user root root;\n" if os.geteuid() == 0 else ""
    mime = Path("/etc/nginx/mime.types")
    (tmp / "nginx.conf").write_text(
        f"{user}worker_processes 1;\npid {tmp}/nginx.pid;\nerror_log stderr notice;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        + (f"  include {mime};\n" if mime.exists() else "")
        + f"  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy;\n"
        f"  fastcgi_temp_path {tmp}/fastcgi; uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;\n"
        f"  include {tmp}/gateway.conf;\n"
        "}\n"
    )
    return Gateway(tmp, tmp / "nginx.conf", http_port, health_port, https_port, upstreams)


def nginx_test(gateway: Gateway) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("nginx"), "-t", "-p", str(gateway.prefix), "-c", str(gateway.config), "-e", "stderr"],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_nginx_accepts_the_gateway_config(tmp_path: Path, tls: bool) -> None:
    result = nginx_test(render(tmp_path, tls))
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def start(gateway: Gateway) -> Iterator[Gateway]:
    servers = []
    for name, port in gateway.upstreams.items():
        handler = type(f"Echo_{name}", (Echo,), {"service": name})
        server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        server.daemon_threads = True
        server.block_on_close = False
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
    process = subprocess.Popen(
        [
            tool("nginx"),
            "-p",
            str(gateway.prefix),
            "-c",
            str(gateway.config),
            "-e",
            "stderr",
            "-g",
            "daemon off;",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with socket.create_connection(("127.0.0.1", gateway.health_port), timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read() if process.stdout else ""
                    pytest.fail(f"nginx did not start: {output}")
                time.sleep(0.05)
        yield gateway
    finally:
        process.terminate()  # SIGTERM: nginx's fast shutdown
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
        for server in servers:
            server.shutdown()
            server.server_close()


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    yield from start(render(tmp_path_factory.mktemp("gateway"), tls=False))


@pytest.fixture(scope="module")
def running_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    yield from start(render(tmp_path_factory.mktemp("gateway-tls"), tls=True))


def request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    https: bool = False,
) -> tuple[int, dict[str, str], bytes]:
    if https:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            "127.0.0.1", port, timeout=10, context=context
        )
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


ROUTES = [
    ("GET", "/api/auth/me", "auth"),
    ("POST", "/api/auth/login", "auth"),
    ("GET", "/api/auth/openapi.json", "auth"),
    ("GET", "/api/albums", "albums"),
    ("PATCH", "/api/albums/3f1c", "albums"),
    ("GET", "/api/images?album_id=1&limit=2", "albums"),
    ("GET", "/api/images/3f1c/thumbnail", "albums"),
    ("GET", "/api/albums/openapi.json", "albums"),
    ("GET", "/api/models", "jobs"),
    ("POST", "/api/jobs", "jobs"),
    ("GET", "/api/jobs/3f1c/result", "jobs"),
    ("GET", "/api/jobs/openapi.json", "jobs"),
    ("GET", "/api/notifier/openapi.json", "notifier"),
]


@pytest.mark.parametrize(("method", "path", "service"), ROUTES)
def test_api_prefixes_reach_their_service_with_the_path_unchanged(
    running: Gateway, method: str, path: str, service: str
) -> None:
    status, headers, body = request(running.http_port, method, path, body=b"{}" if method != "GET" else None)
    assert status == 200, body
    echoed = json.loads(body)
    assert echoed["service"] == service
    assert echoed["path"] == path
    assert re.fullmatch(r"[0-9a-f]{32}", echoed["headers"]["x-request-id"])
    assert echoed["headers"]["x-forwarded-for"] == "127.0.0.1"
    assert echoed["headers"]["x-forwarded-proto"] == "http"


def test_client_forwarded_for_is_not_trusted(running: Gateway) -> None:
    _, _, body = request(running.http_port, "GET", "/api/auth/me", headers={"X-Forwarded-For": "6.6.6.6"})
    assert json.loads(body)["headers"]["x-forwarded-for"] == "127.0.0.1"


def test_websocket_upgrade_is_passed_to_the_notifier(running: Gateway) -> None:
    status, _, body = request(
        running.http_port,
        "GET",
        "/api/notifications/ws",
        headers={
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
    )
    assert status == 200
    echoed = json.loads(body)
    assert echoed["service"] == "notifier"
    assert echoed["headers"]["upgrade"] == "websocket"
    assert echoed["headers"]["connection"].lower() == "upgrade"


@pytest.mark.parametrize("path", ["/metrics", "/healthz", "/readyz"])
def test_service_internals_are_not_reachable(running: Gateway, path: str) -> None:
    status, _, body = request(running.http_port, "GET", path)
    assert status == 404
    assert b"Renovo" not in body


def test_unknown_api_route_is_a_json_404_not_the_web_app(running: Gateway) -> None:
    status, headers, body = request(running.http_port, "GET", "/api/nothing")
    assert status == 404
    assert headers["content-type"].startswith("application/json")
    assert json.loads(body)["error"]["code"] == "not_found"


def test_web_app_with_spa_fallback_and_security_headers(running: Gateway) -> None:
    for path in ("/", "/albums/3f1c"):
        status, headers, body = request(running.http_port, "GET", path)
        assert status == 200 and b"<title>Renovo</title>" in body
        assert headers["cache-control"] == "no-cache"
        csp = headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert "strict-transport-security" not in headers
    status, headers, _ = request(running.http_port, "GET", "/assets/app-1234.js")
    assert status == 200
    assert "immutable" in headers["cache-control"]
    assert "content-security-policy" in headers
    status, _, _ = request(running.http_port, "GET", "/assets/missing.js")
    assert status == 404


def test_api_answers_carry_the_security_headers(running: Gateway) -> None:
    _, headers, _ = request(running.http_port, "GET", "/api/models")
    assert headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" in headers


def test_uploads_may_be_large_other_bodies_may_not(running: Gateway) -> None:
    three_mb = b"x" * (3 * 1024 * 1024)
    status, _, body = request(
        running.http_port,
        "POST",
        "/api/images",
        body=three_mb,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert status == 200 and json.loads(body)["body_bytes"] == len(three_mb)
    status, _, _ = request(
        running.http_port, "POST", "/api/jobs", body=three_mb, headers={"Content-Type": "application/json"}
    )
    assert status == 413


def test_gateway_health_endpoint(running: Gateway) -> None:
    status, _, body = request(running.health_port, "GET", "/healthz")
    assert status == 200 and body == b"ok\n"


def test_login_is_rate_limited(running: Gateway) -> None:
    # Last of the tests on `running`: it spends the login budget of 127.0.0.1.
    statuses = [request(running.http_port, "POST", "/api/auth/login", body=b"{}")[0] for _ in range(30)]
    assert statuses[0] == 200
    assert 429 in statuses


def test_https_serves_the_same_routes_with_hsts_and_http_redirects(running_tls: Gateway) -> None:
    running = running_tls
    status, headers, body = request(running.https_port, "GET", "/api/jobs/1", https=True)
    assert status == 200 and json.loads(body)["service"] == "jobs"
    assert json.loads(body)["headers"]["x-forwarded-proto"] == "https"
    assert headers["strict-transport-security"].startswith("max-age=")
    status, headers, _ = request(running.http_port, "GET", "/albums?x=1")
    assert status == 308
    assert headers["location"].startswith("https://") and headers["location"].endswith("/albums?x=1")


def test_the_web_image_installs_these_files() -> None:
    dockerfile = (DEPLOY / "docker" / "web.Dockerfile").read_text()
    assert "COPY deploy/nginx/gateway.conf /etc/nginx/conf.d/default.conf" in dockerfile
    assert (
        "deploy/nginx/renovo-locations.conf deploy/nginx/security-headers.conf /etc/nginx/renovo/"
        in dockerfile
    )
