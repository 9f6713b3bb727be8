"""A PostgreSQL 15 cluster in a folder of our own: the local database and the tests' throwaway one.

PostgreSQL refuses to run as root, so when we are root the server runs as the ordinary
`postgres` user that Debian's package creates, and the folder is handed to that user.
Clients always connect over TCP on 127.0.0.1 with trust authentication.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

PG_BINDIR = Path(os.environ.get("SCHEDULING_PG_BINDIR", "/usr/lib/postgresql/15/bin"))
SERVER_USER = "postgres"
SUPERUSER = "postgres"
DATABASE = "postgres"

# Settings for a cluster whose data may be lost: tests and benchmarks trade durability for speed.
THROWAWAY_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
# Memory a throwaway cluster may live in, and the room it must have there (its WAL alone may
# grow to max_wal_size, 1 GB).
MEMORY_FOLDER = Path("/dev/shm")
MEMORY_FOLDER_ROOM = 4 * 1024**3


class ClusterError(RuntimeError):
    """The cluster could not be created, started or stopped; the message says why."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def throwaway_folder(prefix: str) -> Path:
    """A new folder for a cluster whose data may be lost: in memory when the machine has room
    there (Linux's /dev/shm), else in the temporary folder. Copying a database from a template
    writes a file per table and index; on this project's machines that took 0.08 to 0.5 s on disk
    and 0.03 to 0.05 s in memory, and the tests copy one for each test whose sessions commit."""
    memory_has_room = (
        MEMORY_FOLDER.is_dir()
        and os.access(MEMORY_FOLDER, os.W_OK)
        and shutil.disk_usage(MEMORY_FOLDER).free >= MEMORY_FOLDER_ROOM
    )
    return Path(tempfile.mkdtemp(prefix=prefix, dir=MEMORY_FOLDER if memory_has_room else None))


def server_version() -> str:
    """What the server in PG_BINDIR says of itself, e.g. "postgres (PostgreSQL) 15.18 (Debian ...)"."""
    result = subprocess.run([str(PG_BINDIR / "postgres"), "--version"], capture_output=True, text=True)
    return result.stdout.strip() or f"none in {PG_BINDIR}"


def _running_as_root() -> bool:
    return os.geteuid() == 0


@dataclass
class Cluster:
    """One PostgreSQL cluster living in `root` (data/, run/, server.log, port)."""

    root: Path
    settings: dict[str, str] | None = None
    # The role initdb makes the bootstrap superuser (Supabase's is supabase_admin).
    superuser: str = SUPERUSER

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "run"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    @property
    def port_file(self) -> Path:
        return self.root / "port"

    @property
    def port(self) -> int | None:
        return int(self.port_file.read_text()) if self.port_file.exists() else None

    def url(self, database: str = DATABASE, user: str | None = None) -> str:
        if self.port is None:
            raise ClusterError(f"no cluster has been started in {self.root}")
        return f"postgresql://{user or self.superuser}@127.0.0.1:{self.port}/{database}"

    def exists(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def is_running(self) -> bool:
        if not self.exists():
            return False
        result = self._run_as_server_user(["pg_ctl", "-D", str(self.data_dir), "status"], check=False)
        return result.returncode == 0

    def init(self) -> None:
        """Create the cluster's files (idempotent)."""
        if self.exists():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        self._hand_to_server_user()
        self._run_as_server_user(
            [
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                self.superuser,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
                "--no-instructions",
            ]
        )

    def start(self) -> None:
        """Start the server on a free port (the previous one when it is still free)."""
        self.init()
        if self.is_running():
            return
        last_error = ""
        for _ in range(3):  # another process may take the port between our check and bind
            port = self.port if self.port and _port_is_free(self.port) else free_port()
            self.port_file.write_text(str(port))
            options = [
                f"-p {port}",
                f"-k {self.socket_dir}",
                "-c listen_addresses=127.0.0.1",
                "-c timezone=UTC",
                *(f"-c {name}={value}" for name, value in (self.settings or {}).items()),
            ]
            result = self._run_as_server_user(
                [
                    "pg_ctl",
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_file),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    " ".join(options),
                    "start",
                ],
                check=False,
            )
            if result.returncode == 0:
                return
            last_error = result.stdout + result.stderr + self._log_tail()
        raise ClusterError(f"could not start PostgreSQL in {self.data_dir}:\n{last_error}")

    def stop(self) -> None:
        if self.is_running():
            self._run_as_server_user(["pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop"])

    def destroy(self) -> None:
        """Stop the server and remove every file of the cluster."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def _hand_to_server_user(self) -> None:
        if not _running_as_root():
            return
        owner = pwd.getpwnam(SERVER_USER)
        for path in [self.root, *self.root.rglob("*")]:
            os.chown(path, owner.pw_uid, owner.pw_gid)

    def _run_as_server_user(self, argv: list[str], check: bool = True):
        command = [str(PG_BINDIR / argv[0]), *argv[1:]]
        if _running_as_root():
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, cwd="/")
        if check and result.returncode != 0:
            raise ClusterError(f"{' '.join(argv)} failed:\n{result.stdout}{result.stderr}")
        return result

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.log_file.read_text().splitlines()[-20:])
        except OSError:
            return ""


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
