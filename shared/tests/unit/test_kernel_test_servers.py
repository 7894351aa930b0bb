"""Where the integration tests get PostgreSQL and Kafka: the given servers, testcontainers where
a Docker engine answers, else the embedded servers. No Docker here: the engine is a fake, and
so is the container start (the real one, shared_kernel.containers, cannot run on this machine)."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from shared_kernel.test_servers import (
    COMPOSE_FILE,
    EMBEDDED_DATABASE_URL,
    EMBEDDED_KAFKA,
    KAFKA_IMAGE,
    POSTGRES_IMAGE,
    Images,
    Server,
    Source,
    TestServersUnavailable,
    check_embedded,
    choose_servers,
    compose_images,
    docker_answers,
    provided_servers,
)

pytestmark = pytest.mark.unit

GIVEN = {
    "TEST_DATABASE_URL": "postgresql://postgres@db.example:5432/postgres",
    "KAFKA_BOOTSTRAP_SERVERS": "kafka.example:9092",
}
IMAGES = Images(postgres="postgres:17.9", kafka="apache/kafka:9.9.9")


class Docker:
    """A fake engine probe that counts how often it was asked."""

    def __init__(self, answers: bool) -> None:
        self.answers = answers
        self.asked = 0

    def __call__(self) -> bool:
        self.asked += 1
        return self.answers


class Containers:
    """A fake testcontainers start: records what it started and whether it was stopped."""

    def __init__(self) -> None:
        self.started: list[tuple[Images, tuple[Server, ...]]] = []
        self.stopped = False

    @contextlib.contextmanager
    def __call__(self, images: Images, servers: tuple[Server, ...]) -> Iterator[dict[Server, str]]:
        self.started.append((images, servers))
        addresses = {
            Server.POSTGRES: "postgresql://postgres:postgres@localhost:32768/postgres",
            Server.KAFKA: "localhost:32769",
        }
        try:
            yield {server: addresses[server] for server in servers}
        finally:
            self.stopped = True


def test_given_servers_are_used_and_docker_is_never_asked() -> None:
    docker = Docker(answers=True)
    choice = choose_servers({**GIVEN, "TEST_SERVERS": "testcontainers"}, docker, IMAGES)
    assert choice.source is Source.GIVEN
    assert choice.given == {
        Server.POSTGRES: GIVEN["TEST_DATABASE_URL"],
        Server.KAFKA: GIVEN["KAFKA_BOOTSTRAP_SERVERS"],
    }
    assert docker.asked == 0  # make test and CI never wait for a Docker probe


def test_a_docker_engine_answering_starts_both_servers_from_the_compose_images() -> None:
    choice = choose_servers({}, Docker(answers=True), IMAGES)
    assert choice.source is Source.TESTCONTAINERS
    assert choice.to_start == (Server.POSTGRES, Server.KAFKA)
    assert choice.images == IMAGES


def test_only_the_server_not_given_is_started_as_a_container() -> None:
    env = {"TEST_DATABASE_URL": GIVEN["TEST_DATABASE_URL"]}
    choice = choose_servers(env, Docker(answers=True), IMAGES)
    assert choice.source is Source.TESTCONTAINERS
    assert choice.to_start == (Server.KAFKA,)


def test_without_docker_the_embedded_servers_are_used() -> None:
    choice = choose_servers({"TEST_SERVERS": "auto"}, Docker(answers=False), IMAGES)
    assert choice.source is Source.EMBEDDED
    assert choice.to_start == ()


def test_embedded_is_kept_even_when_docker_answers() -> None:
    docker = Docker(answers=True)
    choice = choose_servers({"TEST_SERVERS": "embedded"}, docker, IMAGES)
    assert choice.source is Source.EMBEDDED
    assert docker.asked == 0


def test_testcontainers_asked_for_without_docker_is_an_error_naming_docker_host() -> None:
    with pytest.raises(TestServersUnavailable, match="DOCKER_HOST"):
        choose_servers({"TEST_SERVERS": "testcontainers"}, Docker(answers=False), IMAGES)


def test_an_unknown_mode_is_refused_with_the_known_ones() -> None:
    with pytest.raises(TestServersUnavailable, match="auto, embedded, testcontainers"):
        choose_servers({"TEST_SERVERS": "podman"}, Docker(answers=True), IMAGES)


def test_started_containers_are_exported_and_stopped_with_the_session() -> None:
    env: dict[str, str] = {"KAFKA_BOOTSTRAP_SERVERS": ""}  # set but empty counts as not given
    containers = Containers()
    with provided_servers(
        env, probe=Docker(answers=True), start_containers=containers, images=IMAGES
    ) as servers:
        assert servers.source is Source.TESTCONTAINERS
        assert containers.started == [(IMAGES, (Server.POSTGRES, Server.KAFKA))]
        assert env["TEST_DATABASE_URL"] == servers.database_url
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == servers.kafka_bootstrap == "localhost:32769"
        assert not containers.stopped
    assert containers.stopped
    assert env == {"KAFKA_BOOTSTRAP_SERVERS": ""}


def test_the_embedded_servers_are_checked_and_exported() -> None:
    env: dict[str, str] = {"TEST_SERVERS": "embedded"}
    checked: list[Mapping[Server, str]] = []
    with provided_servers(env, check=checked.append, images=IMAGES) as servers:
        assert (servers.database_url, servers.kafka_bootstrap) == (
            EMBEDDED_DATABASE_URL,
            EMBEDDED_KAFKA,
        )
        assert env["TEST_DATABASE_URL"] == EMBEDDED_DATABASE_URL
    assert checked == [{Server.POSTGRES: EMBEDDED_DATABASE_URL, Server.KAFKA: EMBEDDED_KAFKA}]
    assert "TEST_DATABASE_URL" not in env


def test_no_embedded_server_listening_says_how_to_get_servers() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TestServersUnavailable) as refused:
        check_embedded({Server.KAFKA: f"127.0.0.1:{port}"}, timeout_s=0.5)
    message = str(refused.value)
    assert f"127.0.0.1:{port}" in message
    assert "make test" in message and "DOCKER_HOST" in message


def test_a_listening_embedded_server_passes_the_check() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        check_embedded({Server.POSTGRES: f"postgresql://postgres@127.0.0.1:{port}/postgres"})


def test_no_docker_engine_on_an_unreachable_docker_host(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{port}")
    assert docker_answers(timeout_s=1) is False


def test_the_images_come_from_the_compose_file(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text(
        "services:\n"
        "  postgres:\n    image: postgres:18.9\n"
        "  kafka-1:\n    image: ${KAFKA_IMAGE:-apache/kafka:4.2.0}\n"
        "  ledger:\n    build: ../..\n"
    )
    assert compose_images(compose) == Images(postgres="postgres:18.9", kafka="apache/kafka:4.2.0")


def test_without_a_compose_file_the_pinned_images_are_used(tmp_path: Path) -> None:
    assert compose_images(tmp_path / "absent.yaml") == Images(POSTGRES_IMAGE, KAFKA_IMAGE)


def test_the_pinned_images_agree_with_the_compose_file() -> None:
    if not COMPOSE_FILE.is_file():
        pytest.skip(f"{COMPOSE_FILE} is not written yet")
    assert compose_images() == Images(POSTGRES_IMAGE, KAFKA_IMAGE)


def test_the_container_start_path_imports_without_docker() -> None:
    from shared_kernel import containers

    assert callable(containers.start_containers)
