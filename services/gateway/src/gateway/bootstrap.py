"""The composition root: the one place that builds the gateway's parts and wires them.

Building reads the key pair and the policy file (so a bad one stops the gateway at start-up),
but connects to nothing: the runtime (database, Kafka relay) and the upstream HTTP client are
started by the FastAPI lifespan or a CLI command.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from shared_kernel.codec import EventCodec
from shared_kernel.envelope import Actor
from shared_kernel.identity import Identity, IdentitySigner
from shared_kernel.runtime import ServiceRuntime
from shared_kernel.unit_of_work import CommandContext, CommandResult

from gateway.adapters.credentials import CredentialStore
from gateway.adapters.keys import load_signing_key
from gateway.adapters.passwords import Passwords
from gateway.adapters.policy_file import load_policy
from gateway.adapters.upstream import UpstreamClient
from gateway.app.operators import LogIn, RegisterOperator, log_in, register_operator
from gateway.app.proxy import Proxy
from gateway.domain.events import EVENTS
from gateway.domain.policy import Policy
from gateway.settings import GatewaySettings

SERVICE = "gateway"
# Forwarded identities live just long enough for one request to reach its service.
FORWARDED_IDENTITY_TTL_SECONDS = 60


@dataclass
class Gateway:
    settings: GatewaySettings
    runtime: ServiceRuntime
    policy: Policy
    credentials: CredentialStore
    passwords: Passwords
    access_tokens: IdentitySigner
    forwarded_identities: IdentitySigner
    upstream_transport: httpx.AsyncBaseTransport | None = None
    _proxy: Proxy | None = field(default=None, repr=False)

    async def register_operator(self, command: RegisterOperator, actor: Actor) -> CommandResult:
        uow = self.runtime.unit_of_work(CommandContext(actor=actor))
        return await register_operator(command, uow, self.credentials, self.passwords)

    async def log_in(self, command: LogIn) -> Identity:
        context = CommandContext(actor=Actor.system(SERVICE), correlation_id=command.request_id)
        uow = self.runtime.unit_of_work(context)
        return await log_in(command, uow, self.credentials, self.passwords)

    def issue_access_token(self, identity: Identity) -> str:
        """A bearer token for the gateway itself (audience ``gateway``)."""
        return self.access_tokens.sign(identity, audience=SERVICE)

    def verify_access_token(self, token: str | None) -> Identity:
        """Raises ``shared_kernel.identity.InvalidIdentity`` for a missing, forged or expired
        token, or one meant for another audience (such as a forwarded identity)."""
        return self.runtime.verifier.verify(token)

    def upstream_client(self) -> httpx.AsyncClient:
        """The HTTP client for the services; the lifespan opens and closes it."""
        return httpx.AsyncClient(
            transport=self.upstream_transport,
            timeout=self.settings.upstream_timeout_seconds,
            follow_redirects=False,
            # Service-to-service calls never go through a proxy from the environment.
            trust_env=False,
        )

    def connect(self, http: httpx.AsyncClient) -> None:
        upstream = UpstreamClient(
            http, self.settings.services, self.settings.upstream_timeout_seconds
        )
        self._proxy = Proxy(self.policy, self.forwarded_identities, upstream)

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
) -> Gateway:
    """Build the gateway. ``upstream_transport`` lets tests put the services in-process
    (``httpx.ASGITransport``) or fake them (``httpx.MockTransport``)."""
    settings = settings or GatewaySettings()
    key = load_signing_key(settings)
    runtime = ServiceRuntime(SERVICE, settings, EventCodec(EVENTS))
    runtime.verifier  # noqa: B018 -- read the public key now: a missing one stops start-up
    return Gateway(
        settings=settings,
        runtime=runtime,
        policy=load_policy(settings.policy_file),
        credentials=CredentialStore(),
        passwords=passwords or Passwords(),
        access_tokens=IdentitySigner(
            key.private_pem, key.key_id, ttl_seconds=settings.access_token_ttl_seconds
        ),
        forwarded_identities=IdentitySigner(
            key.private_pem, key.key_id, ttl_seconds=FORWARDED_IDENTITY_TTL_SECONDS
        ),
        upstream_transport=upstream_transport,
    )
