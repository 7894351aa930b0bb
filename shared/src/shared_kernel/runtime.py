"""The kernel wired for one service; each service's composition root builds one of these.

Nothing happens at construction: ``start`` (called from the FastAPI lifespan or a worker
command) creates topics, starts the producer, and the outbox relay, projection runners and
inbox runners under the runtime's ``supervisor`` (which logs every crash and restarts with
back-off); a lifespan adds its sweepers and schedulers to the same supervisor with ``spawn``.
``stop`` ends them in reverse order.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine

from shared_kernel import tracing
from shared_kernel.append_signal import AppendSignal
from shared_kernel.codec import EventCodec
from shared_kernel.db import create_engine
from shared_kernel.dead_letter_notices import DeadLetterNotices
from shared_kernel.envelope import serve_schemas_from
from shared_kernel.eventstore import PostgresEventStore
from shared_kernel.gc_pause import freeze_started, thaw
from shared_kernel.group_commit import GroupCommit
from shared_kernel.health import Readiness
from shared_kernel.health_checks import (
    KafkaOffsets,
    database_probe,
    inbox_lag_probe,
    projection_lag_probe,
)
from shared_kernel.identity import IdentityVerifier, key_id_of
from shared_kernel.inbox import InboxHandler, InboxRunner
from shared_kernel.kafka import (
    TopicSpec,
    create_producer,
    dead_letter_notices_topic,
    dead_letter_topic,
    ensure_topics,
    events_topic,
)
from shared_kernel.metrics import RELAY_LEADER
from shared_kernel.outbox import OutboxRelay
from shared_kernel.projection_runner import ProjectionRunner
from shared_kernel.projections import DeadLetters, Projection
from shared_kernel.readmodel import PositionWaiter, ReadModelStore
from shared_kernel.settings import ServiceSettings
from shared_kernel.supervisor import RunFactory, Supervisor
from shared_kernel.unit_of_work import CommandContext, PostgresUnitOfWork, UnitOfWork

log = logging.getLogger(__name__)


class ServiceRuntime:
    def __init__(
        self,
        service: str,
        settings: ServiceSettings,
        codec: EventCodec,
        projections: Sequence[Projection] = (),
        *,
        extra_topics: Sequence[str] = (),
        inboxes: Sequence[InboxHandler] = (),
    ) -> None:
        self.service = service
        self.settings = settings
        self.codec = codec
        self.projections = list(projections)
        self.namespace = settings.topic_namespace
        self.topic = events_topic(service, self.namespace)
        self.extra_topics = list(extra_topics)
        self.inboxes = list(inboxes)
        self.store = PostgresEventStore(source=f"/{service}")
        serve_schemas_from(settings.schema_base_url)  # every CloudEvent's ``dataschema``
        self.engine: AsyncEngine = create_engine(
            settings.database_url, pool_size=settings.database_pool_size
        )
        self.group_commit = (
            GroupCommit(self.engine, self.store, service) if settings.group_commit else None
        )
        # Wakes the outbox relay, in this process or another, after each command's commit.
        self.append_signal = AppendSignal(settings.database_url)
        self.read_models = {
            p.name: ReadModelStore(self.engine, p.name, p.metadata) for p in self.projections
        }
        self.producer: AIOKafkaProducer | None = None
        self.relay: OutboxRelay | None = None
        self.runners: list[ProjectionRunner] = []
        self.inbox_runners: list[InboxRunner] = []
        self.supervisor = Supervisor(service)
        self._verifier: IdentityVerifier | None = None
        self._waiters: dict[str, PositionWaiter] = {}
        # Bookkeeping only (the exporter is built when a tracer is first asked for).
        tracing.configure(settings.otel_traces_exporter)
        self._kafka_offsets: KafkaOffsets | None = None

    @property
    def verifier(self) -> IdentityVerifier:
        if self._verifier is None:
            pem = self.settings.identity_public_key_file.read_bytes()
            self._verifier = IdentityVerifier({key_id_of(pem): pem}, audience=self.service)
        return self._verifier

    def unit_of_work(self, context: CommandContext) -> UnitOfWork:
        return PostgresUnitOfWork(
            self.engine,
            self.store,
            self.codec,
            context,
            on_commit=self.append_signal.committed,
            group=self.group_commit,
        )

    def waiter(self, projection: str) -> PositionWaiter:
        """The read-your-writes waiter of a projection (started and stopped with the runtime)."""
        if projection not in self._waiters:
            self._waiters[projection] = PositionWaiter(
                self.read_models[projection], self.topic, self.settings.kafka_connection()
            )
        return self._waiters[projection]

    def readiness(self) -> Readiness:
        """The service's readiness checks (``/health/ready``, see ``health``): the database,
        Kafka, and every projection and inbox within ``ready_max_lag_events`` of its topics.
        A service adds its own with ``Readiness.add``."""
        settings = self.settings
        topics = [t for p in self.projections for t in p.topics]
        topics += [t for h in self.inboxes for t in h.topics]
        offsets = self._kafka_offsets or KafkaOffsets(
            settings.kafka_connection(), topics or [self.topic]
        )
        self._kafka_offsets = offsets  # one client per process, closed by ``stop``
        readiness = Readiness(timeout_seconds=settings.ready_timeout_seconds)
        readiness.add("database", database_probe(self.engine))
        readiness.add("kafka", offsets.kafka_probe())
        limit = settings.ready_max_lag_events
        for projection in self.projections:
            read_model = self.read_models[projection.name]
            probe = projection_lag_probe(read_model, projection.topics, offsets, limit)
            readiness.add(f"projection {projection.name}", probe)
        for handler in self.inboxes:
            probe = inbox_lag_probe(self.group_id(handler.name), handler.topics, offsets, limit)
            readiness.add(f"inbox {handler.name}", probe)
        return readiness

    def group_id(self, consumer: str) -> str:
        """The Kafka consumer group of one of the service's projections or inboxes."""
        return f"{self.namespace}{self.service}.{consumer}"

    def dead_letters(self) -> DeadLetters:
        """The dead-letter topic of the service, announcing each dead letter (and recovery) on
        its notices topic."""
        assert self.producer is not None, "start() first"
        notices = DeadLetterNotices(
            self.producer, self.service, dead_letter_notices_topic(self.service, self.namespace)
        )
        return DeadLetters(
            self.producer,
            dead_letter_topic(self.service, self.namespace),
            notices,
            service=self.service,
        )

    async def start(self) -> None:
        bootstrap = self.settings.kafka_connection()
        partitions = self.settings.topic_partitions
        specs = [
            TopicSpec(self.topic, partitions),
            TopicSpec(dead_letter_topic(self.service, self.namespace), 1),
            TopicSpec(dead_letter_notices_topic(self.service, self.namespace), 1),
        ]
        specs += [TopicSpec(t, partitions) for t in self.extra_topics]
        specs += [TopicSpec(t, partitions) for h in self.inboxes for t in h.topics]
        # Once per name, the first spec wins (an inbox may read this service's own topics).
        await ensure_topics(
            bootstrap,
            list({s.name: s for s in reversed(specs)}.values()),
            replication_factor=self.settings.kafka_replication_factor,
            min_insync_replicas=self.settings.kafka_min_insync_replicas,
        )
        self.producer = create_producer(bootstrap, client_id=f"{self.service}-service")
        await self.producer.start()
        for read_model in self.read_models.values():
            await read_model.ensure_live()
        for waiter in self._waiters.values():
            await waiter.start()
        self.spawn("append signal", self.append_signal.run)
        if self.settings.run_relay:
            relay = OutboxRelay(self.engine, self.store, self.producer, self.topic, partitions)
            self.relay = relay
            # Read when scraped: which replica leads is known at once, not at the next sample.
            RELAY_LEADER.labels(self.service).set_function(lambda: int(relay.leading))
            self.spawn("relay", relay.run)
        if self.settings.run_projections:
            for projection in self.projections:
                runner = ProjectionRunner(
                    projection,
                    self.read_models[projection.name],
                    bootstrap,
                    group_id=self.group_id(projection.name),
                    dead=self.dead_letters(),
                    tracer=tracing.tracer_for(self.service),
                )
                self.runners.append(runner)
                self.spawn(f"projection {projection.name}", runner.run)
        if self.settings.run_inboxes:
            for handler in self.inboxes:
                inbox = InboxRunner(
                    handler,
                    self.service,
                    self.unit_of_work,
                    bootstrap,
                    group_id=self.group_id(handler.name),
                    dead=self.dead_letters(),
                    tracer=tracing.tracer_for(self.service),
                )
                self.inbox_runners.append(inbox)
                self.spawn(f"inbox {handler.name}", inbox.run)
        freeze_started()  # no more full collections over what start-up made (``gc_pause``)

    def spawn(self, name: str, run: RunFactory) -> None:
        """Run background work of the service (a sweeper, a scheduler) under the supervisor:
        restarted with back-off after a crash, stopped with the runtime."""
        self.supervisor.spawn(name, run)

    async def stop(self) -> None:
        thaw()
        await self.supervisor.stop()
        for waiter in self._waiters.values():
            await waiter.stop()
        if self._kafka_offsets is not None:
            await self._kafka_offsets.stop()
        if self.producer is not None:
            await self.producer.stop()
            self.producer = None
        await self.engine.dispose()
        tracing.flush()
