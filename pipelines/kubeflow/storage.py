"""What a compiled pipeline's pods need of storage, checked when it is compiled.

Every pod reads the data and writes the pipeline root by itself, so each location must be one a
pod can open: `gs://…`, `s3://…`, or an absolute path on a volume every pod mounts. A relative
path would be taken relative to the pod's working directory, and `http://…` is no filesystem
TensorFlow or Beam writes to.

An `s3://` root is read by two clients in each pod: TensorFlow's S3 filesystem (tensorflow-io),
which takes its endpoint from `S3_ENDPOINT`, and Beam's (boto3), from `AWS_ENDPOINT_URL`.
tensorflow-io does not read `S3_USE_HTTPS`: `S3_ENDPOINT=host:port` makes it speak TLS to a plain
HTTP server (MinIO, SeaweedFS in a KFP install), and `gfile.exists` then quietly says False. So an
endpoint must carry its scheme (`http://minio-service.kubeflow:9000`). Light: no TensorFlow.
"""
from __future__ import annotations

from typing import Iterable, Mapping

REMOTE_SCHEMES = ("gs://", "s3://")
CLUSTER_LOCATIONS = "gs://BUCKET/PATH, s3://BUCKET/PATH or an absolute path every pod mounts"
S3_ENDPOINT_VARIABLES = ("S3_ENDPOINT", "AWS_ENDPOINT_URL")
# Where an S3 client in a pod finds credentials: keys, or a web identity (EKS IRSA, injected by
# a webhook after compiling, so it can only be named, not seen).
S3_CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN")


def cluster_location_problem(location: str) -> str | None:
    """Why no pod can use `location` as a root or a data directory (None: it can)."""
    if location.startswith(REMOTE_SCHEMES):
        return None if len(location.split("://", 1)[1].strip("/")) else f"expected a bucket in {location!r}"
    if "://" in location:
        return f"expected {CLUSTER_LOCATIONS}, got {location!r} (no pod reads or writes that scheme)"
    if not location.startswith("/"):
        return (f"expected {CLUSTER_LOCATIONS}, got the relative path {location!r} (a pod would read it "
                "relative to its own working directory)")
    return None


def endpoint_problem(name: str, value: str) -> str | None:
    """Why an S3 endpoint variable would not reach a plain-HTTP S3 server (None: it would)."""
    if name in S3_ENDPOINT_VARIABLES and not value.startswith(("http://", "https://")):
        return (f"{name}={value!r}: expected the endpoint with its scheme, e.g. http://{value} (without one, "
                "TensorFlow's S3 filesystem speaks TLS and finds nothing on a plain-HTTP server such as "
                "KFP's MinIO or SeaweedFS; S3_USE_HTTPS is not read)")
    return None


def s3_settings_warnings(locations: Iterable[str], env: Mapping[str, str], secret_env: Iterable[str]) -> list[str]:
    """What an `s3://` root or data directory lacks in the pods' environment (the endpoint, a
    credential source); empty when nothing reads S3 or everything is there."""
    if not any(location.startswith("s3://") for location in locations):
        return []
    given = set(env) | set(secret_env)
    warnings = []
    missing_endpoints = [name for name in S3_ENDPOINT_VARIABLES if name not in given]
    if missing_endpoints:
        warnings.append(
            f"an s3:// location without {' and '.join(missing_endpoints)}: the pods will use AWS S3 itself; for "
            "KFP's MinIO or SeaweedFS give --env S3_ENDPOINT=http://HOST:PORT --env AWS_ENDPOINT_URL=http://HOST:PORT"
        )
    if not given & set(S3_CREDENTIAL_VARIABLES):
        warnings.append(
            "an s3:// location without credentials: no AWS_ACCESS_KEY_ID (nor a web identity) reaches the pods; "
            "give --secret-env AWS_ACCESS_KEY_ID=SECRET:KEY --secret-env AWS_SECRET_ACCESS_KEY=SECRET:KEY "
            "(KFP's MinIO: mlpipeline-minio-artifact, keys accesskey and secretkey)"
        )
    return warnings
