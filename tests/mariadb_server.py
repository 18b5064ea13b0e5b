"""A real MariaDB server on 127.0.0.1 for tests (Debian's `mariadb-server`), with one user that has
a password, so that ML Metadata's MySQL connection is tested against what a cluster's server
accepts and refuses."""
from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

START_TIMEOUT_S = 30


@dataclass(frozen=True)
class MariaDb:
    port: int
    user: str
    password: str


def installed() -> bool:
    return all(shutil.which(tool) for tool in ("mariadbd", "mariadb-install-db", "mariadb"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def mariadb_server(directory: Path, user: str = "mlmd", password: str = "mlmd-secret") -> Iterator[MariaDb]:
    """Starts `mariadbd` with its data under `directory`, creates `user`, stops it afterwards."""
    data, sock, port = directory / "data", directory / "mariadb.sock", _free_port()
    subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={data}", "--user=root",
                    "--auth-root-authentication-method=normal", "--skip-test-db"],
                   check=True, capture_output=True)
    server = subprocess.Popen(
        ["mariadbd", "--no-defaults", f"--datadir={data}", f"--socket={sock}", f"--port={port}",
         "--bind-address=127.0.0.1", "--user=root", "--skip-log-bin"],
        stdout=subprocess.DEVNULL, stderr=open(directory / "mariadb.log", "w"),
    )
    try:
        client = ["mariadb", "--no-defaults", f"--socket={sock}", "-u", "root"]
        deadline = time.monotonic() + START_TIMEOUT_S
        while subprocess.run([*client, "-e", "SELECT 1"], capture_output=True).returncode != 0:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mariadbd did not start; see {directory / 'mariadb.log'}")
            time.sleep(0.2)
        subprocess.run([*client, "-e", f"CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY '{password}'; "
                        f"GRANT ALL ON *.* TO '{user}'@'127.0.0.1';"], check=True, capture_output=True)
        yield MariaDb(port, user, password)
    finally:
        server.terminate()
        server.wait(timeout=30)
