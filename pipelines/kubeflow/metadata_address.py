"""Where the steps of a compiled pipeline find ML Metadata, written as one URI.

- `grpc://HOST:PORT`: the metadata gRPC service Kubeflow Pipelines installs
  (`grpc://metadata-grpc-service.kubeflow:8080`, the default);
- `mysql://HOST:PORT/DATABASE`: a MySQL-compatible server, for clusters without that service;
  the user and password come from the step's environment (`MLMD_MYSQL_USER`,
  `MLMD_MYSQL_PASSWORD`), never from the spec or the compiled pipeline;
- `sqlite:///ABSOLUTE/PATH`: a SQLite file every step can reach (`coursepipe run-compiled` here).

This module is light (no TFX): the spec validates the URI with it; `connection_config` builds the
ML Metadata config only inside a step.
"""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import urlsplit

DEFAULT_METADATA = "grpc://metadata-grpc-service.kubeflow:8080"
MYSQL_USER_ENV = "MLMD_MYSQL_USER"
MYSQL_PASSWORD_ENV = "MLMD_MYSQL_PASSWORD"
EXPECTED = "grpc://HOST:PORT, mysql://HOST:PORT/DATABASE or sqlite:///ABSOLUTE/PATH"


@dataclass(frozen=True)
class MetadataAddress:
    scheme: str  # grpc, mysql or sqlite
    host: str = ""
    port: int = 0
    database: str = ""  # MySQL's database; SQLite's file

    @property
    def uri(self) -> str:
        if self.scheme == "sqlite":
            return f"sqlite://{self.database}"
        return f"{self.scheme}://{self.host}:{self.port}" + (f"/{self.database}" if self.database else "")

    @classmethod
    def parse(cls, uri: str) -> MetadataAddress:
        """The address in `uri`; `ValueError` saying what was expected (never repeating a password)."""
        parts = urlsplit(uri)
        if parts.password is not None:
            uri = uri.replace(f":{parts.password}@", ":***@", 1)
        try:
            port = parts.port
        except ValueError:
            port = None
        if parts.scheme == "sqlite" and not parts.netloc and parts.path.startswith("/") and len(parts.path) > 1:
            return cls("sqlite", database=parts.path)
        if parts.scheme in ("grpc", "mysql") and parts.hostname and port:
            database = parts.path.strip("/")
            if parts.scheme == "mysql" and not database:
                raise ValueError(f"expected mysql://HOST:PORT/DATABASE, got {uri!r} (no database)")
            if parts.scheme == "grpc" and database:
                raise ValueError(f"expected grpc://HOST:PORT, got {uri!r} (a gRPC address has no path)")
            if parts.username or parts.password:
                raise ValueError(f"{uri!r}: credentials do not go in the URI; the steps read them from "
                                 f"{MYSQL_USER_ENV} and {MYSQL_PASSWORD_ENV}")
            return cls(parts.scheme, parts.hostname, port, database)
        raise ValueError(f"expected {EXPECTED}, got {uri!r}")

    def unreachable_reason(self, timeout: float = 3.0) -> str | None:
        """Why this machine cannot reach a server store (None: a TCP connection opened, or SQLite).
        Checked before a run's steps start, each of which would otherwise wait for it and fail."""
        if self.scheme == "sqlite":
            return None
        try:
            with socket.create_connection((self.host, self.port), timeout=timeout):
                return None
        except OSError as error:
            return error.strerror or str(error)

    def connection_config(self, environ: Mapping[str, str] = os.environ) -> Any:
        """The ML Metadata connection TFX's launcher opens: a `ConnectionConfig` (MySQL, SQLite) or
        a `MetadataStoreClientConfig` (gRPC). A SQLite file's folder is created first (SQLite
        creates the file, not its folder)."""
        from ml_metadata.proto import metadata_store_pb2

        if self.scheme == "grpc":
            return metadata_store_pb2.MetadataStoreClientConfig(host=self.host, port=self.port)
        config = metadata_store_pb2.ConnectionConfig()
        if self.scheme == "sqlite":
            os.makedirs(os.path.dirname(self.database), exist_ok=True)
            config.sqlite.filename_uri = self.database
            config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
            return config
        config.mysql.host = self.host
        config.mysql.port = self.port
        config.mysql.database = self.database
        config.mysql.user = environ.get(MYSQL_USER_ENV, "root")
        config.mysql.password = environ.get(MYSQL_PASSWORD_ENV, "")
        config.mysql.skip_db_creation = False
        return config
