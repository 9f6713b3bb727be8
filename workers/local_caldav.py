"""A local CalDAV server (Radicale) in a folder, for the demo and the calendar sync tests."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

from workers import localdb


class Radicale:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = localdb.free_port()
        self.users: dict[str, str] = {}
        (folder / "users").write_text("")
        (folder / "config").write_text(
            f"[server]\nhosts = 127.0.0.1:{self.port}\n"
            f"[auth]\ntype = htpasswd\nhtpasswd_filename = {folder / 'users'}\nhtpasswd_encryption = plain\n"
            # Radicale sleeps a second on each 401, which every new client meets once before it
            # sends its credentials: a guard against guessing passwords, of no use here.
            "delay = 0\n"
            f"[storage]\nfilesystem_folder = {folder / 'collections'}\n"
            "[logging]\nlevel = warning\n"
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "radicale", "--config", str(folder / "config")],
            stdout=subprocess.DEVNULL,
            stderr=(folder / "radicale.log").open("w"),
        )
        self._wait_until_listening()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def add_user(self, username: str, password: str) -> None:
        """Radicale reads its htpasswd file on every request: a new line is a new account at once."""
        self.users[username] = password
        (self.folder / "users").write_text("".join(f"{u}:{p}\n" for u, p in self.users.items()))

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError((self.folder / "radicale.log").read_text())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("Radicale did not start listening within 20 s")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
