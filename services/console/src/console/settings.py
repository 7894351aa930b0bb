"""The console's settings, read from the environment (names: ``CONSOLE_`` + field, upper case)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONSOLE_", env_file=None, extra="ignore")

    # The gateway's public address: the console's only way to the back office.
    gateway_url: str = "http://127.0.0.1:8000"
    # The key that signs session and CSRF tokens; made on first start, kept across restarts
    # (and shared by every console replica, so a session is good at any of them).
    session_key_file: Path = Path(".data/keys/console_session.key")
    # A session ends with the gateway token it carries, or after this long idle, whichever first.
    session_idle_seconds: int = Field(default=1800, ge=60, le=12 * 3600)
    # "auto": Secure cookies when the request came over TLS (directly or via a trusted proxy).
    secure_cookies: Literal["auto", "always", "never"] = "auto"
    default_locale: Literal["en", "de"] = "en"
    timezone: str = "Europe/Berlin"
    # Live lists: how often a server-sent-event stream looks at the read models again.
    live_interval_seconds: float = Field(default=2.0, gt=0.05, le=60)
    # How long one live stream stays open before the browser reconnects (bounds held sockets).
    live_stream_seconds: float = Field(default=300, gt=1, le=3600)
    # Proxies in front of the console whose X-Forwarded-For/-Proto are believed (uvicorn's
    # forwarded_allow_ips, comma-separated); none by default.
    forwarded_allow_ips: str = ""
    # Log-in attempts per minute from one client address (the console's own limit, before
    # the gateway's: to the gateway every console user comes from the console's address).
    login_attempts_per_minute: int = Field(default=20, ge=1)
    api_timeout_seconds: float = Field(default=15, gt=0, le=120)
