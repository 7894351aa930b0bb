"""The composition root: the one place that builds the gateway's parts and wires them.

Building reads the key pair and the policy file (so a bad one stops the gateway at start-up),
but connects to nothing: the runtime (database, Kafka relay) and the upstream HTTP client are
started by the FastAPI lifespan or a CLI command.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from shared_kernel import tracing
from shared_kernel.codec import EventCodec
from shared_kernel.health import Readiness
from shared_kernel.identity import Caller, IdentitySigner
from shared_kernel.kafka import events_topic
from shared_kernel.runtime import ServiceRuntime
from shared_kernel.unit_of_work import CommandContext, CommandResult

from gateway.adapters.api_keys import ApiKeyStore
from gateway.adapters.audit import AuditLog, audit_topic
from gateway.adapters.credentials import CredentialStore
from gateway.adapters.keys import load_signing_key
from gateway.adapters.leases import LeasedBuckets, lease_size
from gateway.adapters.passwords import Passwords
from gateway.adapters.policy_file import load_policy
from gateway.adapters.rate_limit import RateLimiter, RateLimits, TokenBuckets
from gateway.adapters.replicas import ReplicaProbe, any_replica_ready
from gateway.adapters.shared_buckets import BucketTable
from gateway.adapters.upstream import UpstreamClient, upstream_http_client
from gateway.app.admin import Administration
from gateway.app.callers import Callers
from gateway.app.cases import CaseQueries
from gateway.app.catalogue import ServiceCatalogue
from gateway.app.contracts import DataContracts
from gateway.app.decisions import DecisionQueries
from gateway.app.operators import LogIn, RegisterOperator, log_in, register_operator
from gateway.app.proxy import Proxy
from gateway.app.verified_tokens import VerifiedTokens
from gateway.domain.events import EVENTS
from gateway.domain.policy import Policy
from gateway.projections.audit_decisions import AuditDecisions
from gateway.projections.case_timeline import CaseTimeline
from gateway.settings import GatewaySettings

SERVICE = "gateway"
# Forwarded identities live just long enough for one request to reach its service.
FORWARDED_IDENTITY_TTL_SECONDS = 60
# Audit records of 20 ms go to Kafka together (one produce request, not one per request); a
# record reaches the topic that much later, and a graceful stop still flushes them all.
AUDIT_GATHER_SECONDS = 0.02


@dataclass
class Gateway:
    settings: GatewaySettings
    runtime: ServiceRuntime
    policy: Policy
    credentials: CredentialStore
    passwords: Passwords
    access_tokens: IdentitySigner
    forwarded_identities: IdentitySigner
    # Operators and systems confirmed against their current state; rate limits; audit trail.
    callers: Callers
    limits: RateLimits
    # The limits' shared buckets (RATE_LIMIT_STORE=postgres), which the lifespan keeps bounded.
    bucket_table: BucketTable | None
    audit: AuditLog
    admin: Administration
    # The case timeline over every service's events (see projections/case_timeline.py).
    cases: CaseQueries
    # The search of the audit trail (see projections/audit_decisions.py).
    decisions: DecisionQueries
    # The event schemas and the AsyncAPI document (see app/contracts.py).
    contracts: DataContracts
    upstream_transport: httpx.AsyncBaseTransport | None = None
    _proxy: Proxy | None = field(default=None, repr=False)
    # The services' routes (from their OpenAPI documents once discovered, the policy's before).
    catalogue: ServiceCatalogue = field(init=False, repr=False)
    _upstream: UpstreamClient | None = field(default=None, repr=False)
    _verified_tokens: VerifiedTokens = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.catalogue = ServiceCatalogue(
            self.policy, self.settings.services, self.settings.optional_services
        )
        self._verified_tokens = VerifiedTokens(
            lambda token: self.runtime.verifier.verify_with_expiry(token)
        )

    async def register_operator(self, command: RegisterOperator, caller: Caller) -> CommandResult:
        uow = self.runtime.unit_of_work(CommandContext(caller))
        return await register_operator(command, uow, self.credentials, self.passwords)

    async def log_in(self, command: LogIn) -> Caller:
        context = CommandContext(Caller.system(SERVICE), correlation_id=command.request_id)
        uow = self.runtime.unit_of_work(context)
        return await log_in(command, uow, self.credentials, self.passwords)

    def issue_access_token(self, caller: Caller) -> str:
        """A bearer token for the gateway itself (audience ``gateway``)."""
        return self.access_tokens.sign(caller, audience=SERVICE)

    def verify_access_token(self, token: str | None) -> Caller:
        """Raises ``shared_kernel.identity.InvalidIdentity`` for a missing, forged or expired
        token, or one meant for another audience (such as a forwarded identity). A token
        verified before is known by its text until it expires (``app/verified_tokens.py``)."""
        return self._verified_tokens.verify(token)

    def upstream_client(self) -> httpx.AsyncClient:
        """The HTTP client for the services; the lifespan opens and closes it."""
        return upstream_http_client(self.upstream_transport, self.settings.upstream_timeout_seconds)

    def connect(self, http: httpx.AsyncClient) -> None:
        upstream = UpstreamClient(
            http,
            self.settings.services,
            self.settings.upstream_timeout_seconds,
            tracer=tracing.tracer_for(SERVICE),
        )
        self._upstream = upstream
        self._proxy = Proxy(self.policy, self.forwarded_identities, upstream, self.catalogue)

    def replica_probe(self, http: httpx.AsyncClient) -> ReplicaProbe:
        """Marks the services' replicas up or down (the lifespan runs it in the background)."""
        return ReplicaProbe(http, self._connected.replicas)

    def readiness(self, http: httpx.AsyncClient) -> Readiness:
        """The runtime's checks, and each service's own readiness (asked in parallel): a
        service is ready when any of its replicas is."""
        readiness = self.runtime.readiness()
        timeout = self.settings.ready_timeout_seconds * 0.8  # answered before the deadline
        for name, base_urls in sorted(self.settings.services.items()):
            optional = name in self.settings.optional_services
            probe = any_replica_ready(http, base_urls, timeout=timeout, optional=optional)
            readiness.add(f"service {name}", probe)
        return readiness

    async def discover_services(self) -> None:
        """Read the services' OpenAPI documents; refuses (GatewayMisconfigured) when the
        policy misses a route or a required service does not answer in time."""
        await self.catalogue.discover(self._connected.openapi, self.settings.openapi_wait_seconds)

    async def retry_missing_services(self) -> None:
        """Another attempt at optional services that were down at start-up (throttled)."""
        await self.catalogue.retry_missing(self._connected.openapi)

    @property
    def _connected(self) -> UpstreamClient:
        if self._upstream is None:
            raise RuntimeError("the gateway is not connected to its services (lifespan not run)")
        return self._upstream

    @property
    def proxy(self) -> Proxy:
        if self._proxy is None:
            raise RuntimeError("the gateway is not connected to its services (lifespan not run)")
        return self._proxy


def bootstrap(
    settings: GatewaySettings | None = None,
    *,
    upstream_transport: httpx.AsyncBaseTransport | None = None,
    passwords: Passwords | None = None,
    callers: Callers | None = None,
) -> Gateway:
    """Build the gateway. ``upstream_transport`` lets tests put the services in-process
    (``httpx.ASGITransport``) or fake them (``httpx.MockTransport``); ``callers`` lets unit
    tests confirm callers without a database."""
    settings = settings or GatewaySettings()
    key = load_signing_key(settings)
    audit = AuditLog(
        audit_topic(settings.topic_namespace),
        settings.audit_queue_capacity,
        gather_seconds=AUDIT_GATHER_SECONDS,
    )
    # The timeline reads the events of every service the gateway fronts, and its own; the
    # gateway creates the topics it reads if they are missing, as an inbox's runtime does.
    service_topics = [events_topic(s, settings.topic_namespace) for s in sorted(settings.services)]
    timeline = CaseTimeline([*service_topics, events_topic(SERVICE, settings.topic_namespace)])
    # The audit trail read back from its topic: what the gateway decided, searchable.
    decisions = AuditDecisions(audit.topic)
    runtime = ServiceRuntime(
        SERVICE,
        settings,
        EventCodec(EVENTS),
        [timeline, decisions],
        extra_topics=[audit.topic, *service_topics],
    )
    runtime.verifier  # noqa: B018 -- read the public key now: a missing one stops start-up
    passwords = passwords or Passwords()
    credentials, keys = CredentialStore(), ApiKeyStore()
    callers = callers or Callers(runtime.unit_of_work, keys)
    bucket_table = BucketTable(runtime.engine) if settings.rate_limit_store == "postgres" else None
    return Gateway(
        settings=settings,
        runtime=runtime,
        policy=load_policy(settings.policy_file),
        credentials=credentials,
        passwords=passwords,
        access_tokens=IdentitySigner(
            key.private_pem, key.key_id, ttl_seconds=settings.access_token_ttl_seconds
        ),
        forwarded_identities=IdentitySigner(
            key.private_pem, key.key_id, ttl_seconds=FORWARDED_IDENTITY_TTL_SECONDS
        ),
        callers=callers,
        limits=rate_limits(settings, bucket_table),
        bucket_table=bucket_table,
        audit=audit,
        admin=Administration(runtime.unit_of_work, credentials, passwords, keys, callers),
        cases=CaseQueries(runtime.read_models[timeline.name]),
        decisions=DecisionQueries(runtime.read_models[decisions.name]),
        contracts=data_contracts(settings),
        upstream_transport=upstream_transport,
    )


def data_contracts(settings: GatewaySettings) -> DataContracts:
    return DataContracts(
        settings.contracts_root,
        settings.schema_base_url,
        settings.topic_partitions,
        settings.topic_namespace,
        settings.kafka_bootstrap_servers,
    )


def rate_limits(settings: GatewaySettings, table: BucketTable | None) -> RateLimits:
    """In ``table`` when there is one (shared by every gateway; per identity through leases,
    log-ins one take per attempt), else in this process's memory."""

    def buckets(limit: str, per_second: float, burst: int) -> TokenBuckets:
        if table is None:
            return RateLimiter(per_second, burst)
        return table.buckets(limit, per_second, burst)

    per_identity = buckets("identity", settings.rate_limit_per_second, settings.rate_limit_burst)
    if table is not None:
        per_identity = LeasedBuckets(per_identity, lease=lease_size(settings.rate_limit_burst))
    per_pair = settings.login_attempts_per_minute_per_username_and_client
    per_client = settings.login_attempts_per_minute_per_client
    return RateLimits(
        per_identity=per_identity,
        login_username_and_client=buckets("login-username-and-client", per_pair / 60, per_pair),
        login_client=buckets("login-client", per_client / 60, per_client),
    )
