"""``node serve`` and ``hub serve`` log one key=value line per request at INFO (method, path, status, duration),
at the level of the ``logging.level`` setting, and never a token, an Authorization header or a key. The servers
are real ``medmci ... serve`` processes on loopback; nothing is configured at import or in the tests' own process."""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests
import yaml
from click.testing import CliRunner

from federation.cli import main
from tests.support.environment import TEST_SETTINGS
from tests.support.waiting import poll_until

ROOT = Path(__file__).resolve().parent.parent
LINE = re.compile(r'INFO federation\.request_log request method=(\S+) path=("(?:[^"\\]|\\.)*"|\S+) '
                  r'status=(\d{3}) duration_ms=(\d+\.\d)$')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Served:
    """``medmci <app> --instance ... serve --port N`` in a process of its own; its stderr lines are collected."""

    def __init__(self, app: str, instance: Path, *extra: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MEDMCI_DATABASE_URL")}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from federation.cli import main; main()", app, "--instance", str(instance),
             "serve", "--port", str(self.port), *extra],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def ready(self, timeout: float = 30) -> "Served":
        def listening() -> bool:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return True
            except OSError:
                return False

        if poll_until(listening, timeout):
            return self
        self.stop()
        raise AssertionError("server did not start:\n" + "\n".join(self.lines))

    def requests_logged(self, count: int, timeout: float = 10) -> list[tuple]:
        poll_until(lambda: sum(1 for line in list(self.lines) if LINE.search(line)) >= count, timeout)
        return [m.groups()[:3] for m in (LINE.search(line) for line in list(self.lines)) if m]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._reader.join(5)
        self.proc.stdout.close()


@pytest.fixture
def served():
    started: list[Served] = []

    def start(app: str, instance: Path, *extra: str) -> Served:
        server = Served(app, instance, *extra)
        started.append(server)
        return server.ready()

    yield start
    for server in started:
        server.stop()


def instance_with(tmp_path: Path, name: str, settings: dict) -> Path:
    path = tmp_path / name
    path.mkdir()
    (path / "medmci.yaml").write_text(yaml.safe_dump({**TEST_SETTINGS, **settings}), encoding="utf-8")
    return path


def shown(output: str, label: str) -> str:
    return output.split(label)[1].split()[0]


def test_node_serve_logs_one_line_per_request_and_never_a_token(tmp_path, served):
    instance = instance_with(tmp_path, "node", {})
    init = CliRunner().invoke(main, ["node", "--instance", str(instance), "init"])
    token = shown(init.output, "admin token (shown once, store it now): ")
    server = served("node", instance)
    headers = {"Authorization": f"Bearer {token}"}
    assert requests.get(server.url + "/api/v1/members", headers=headers, timeout=5).status_code == 200
    assert requests.get(server.url + "/api/v1/members?token=" + token, timeout=5).status_code == 401
    hostile = requests.get(server.url + "/api/v1/no such%0Apath=1 status=200", timeout=5)
    assert hostile.status_code == 404
    logged = server.requests_logged(3)
    assert logged == [("GET", "/api/v1/members", "200"), ("GET", "/api/v1/members", "401"),
                      ("GET", '"/api/v1/no such\\npath=1 status=200"', "404")], server.lines
    text = "\n".join(server.lines)
    secret = token.split("_", 2)[2]
    assert token not in text and secret not in text and "Authorization" not in text and "Bearer" not in text
    assert "PRIVATE KEY" not in text


def test_hub_serve_logs_requests_at_the_level_of_the_setting(tmp_path, served):
    quiet = instance_with(tmp_path, "quiet", {"logging": {"level": "WARNING"}})
    loud = instance_with(tmp_path, "loud", {"logging": {"level": "info"}})
    loud_server = served("hub", loud, "--no-scheduler")
    quiet_server = served("hub", quiet, "--no-scheduler")
    for server in (loud_server, quiet_server):
        assert requests.get(server.url + "/api/v1/metaclusters", timeout=5).status_code == 200
        assert requests.post(server.url + "/api/v1/harvests", timeout=5).status_code == 401
    assert loud_server.requests_logged(2) == [("GET", "/api/v1/metaclusters", "200"),
                                              ("POST", "/api/v1/harvests", "401")]
    quiet_server.stop()  # its output ends: every line it would have logged is read
    assert quiet_server.requests_logged(0, timeout=0) == []
    assert not [line for line in quiet_server.lines if "request method=" in line]


def test_a_bad_level_is_refused_before_serving(tmp_path):
    instance = instance_with(tmp_path, "hub", {"logging": {"level": "LOUD"}})
    # A process of its own with a timeout: were the level accepted, the hub would serve until stopped.
    result = subprocess.run([sys.executable, "-c", "from federation.cli import main; main()", "hub", "--instance",
                             str(instance), "serve", "--no-scheduler", "--port", str(free_port())],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "logging.level 'LOUD' is not a level" in result.stderr


def test_nothing_is_configured_at_import_or_by_the_app_factories(make_node):
    """The tests' own process builds apps all the time: the root logger keeps its level, and no handler appears."""
    root = logging.getLogger()
    before = (root.level, list(root.handlers))
    app = make_node("qoot")
    assert app.test_client().get("/api/v1/members").status_code == 200
    assert (root.level, list(root.handlers)) == before
    assert not logging.getLogger("federation.request_log").handlers


def test_a_self_service_link_is_never_logged(tmp_path, served, registry):
    """A member's link is its credential (a GET reads the record and leaves the link usable): whoever reads the
    log must not be able to use it. The line names the route, not the token."""
    from tests.support.builders import node_instance

    instance = node_instance(tmp_path / "node", registry)
    made = CliRunner().invoke(main, ["node", "--instance", str(instance), "members", "link", "lb-1", "--json"])
    assert made.exit_code == 0, made.output
    token = yaml.safe_load(made.output)["token"]
    server = served("node", instance)
    assert requests.get(f"{server.url}/api/v1/self-service/{token}", timeout=5).status_code == 200
    assert requests.get(f"{server.url}/api/v1/self-service/{token[:-2]}xy", timeout=5).status_code == 403
    assert server.requests_logged(2) == [("GET", "/api/v1/self-service/<token>", "200"),
                                         ("GET", "/api/v1/self-service/<token>", "403")], server.lines
    text = "\n".join(server.lines)
    assert token not in text and token.split(".")[0] not in text
