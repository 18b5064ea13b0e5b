"""Submit a compiled pipeline to an open-source Kubeflow Pipelines server with the KFP SDK's client.

The package is the YAML `pipelines.kubeflow.kfp_compiler` writes (with its Kubernetes platform
spec). It is uploaded under its Kubeflow name (a new version when that name exists), and a run of
that version is started in the experiment.
"""
from __future__ import annotations

import datetime
import json
import logging
from dataclasses import dataclass
from typing import Any

import kfp
import kfp_server_api

from pipelines.names import DEFAULT_EXPERIMENT

logger = logging.getLogger(__name__)


class SubmitError(RuntimeError):
    """The KFP server refused a request: what was asked and the server's own message."""


@dataclass(frozen=True)
class SubmittedRun:
    pipeline_id: str
    version_id: str
    experiment_id: str
    run_id: str
    url: str


def submit(package: str, name: str, host: str, experiment: str = DEFAULT_EXPERIMENT, description: str = "",
           parameters: dict[str, Any] | None = None) -> SubmittedRun:
    """Uploads the compiled pipeline `package` as `name` (a new version if that name exists) and
    starts a run in `experiment` with `parameters` as its pipeline parameters (train_epochs, ...)."""
    try:
        return _submit(package, name, host, experiment, description, parameters or {})
    except kfp_server_api.ApiException as error:
        raise SubmitError(f"{host} refused the request ({error.status} {error.reason}): {_server_message(error)}") from None


def _server_message(error: kfp_server_api.ApiException) -> str:
    try:
        return json.loads(error.body).get("error_message") or error.body
    except (TypeError, ValueError):
        return str(error.body)


def _submit(package: str, name: str, host: str, experiment: str, description: str,
            parameters: dict[str, Any]) -> SubmittedRun:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    client = kfp.Client(host=host)
    pipeline_id = client.get_pipeline_id(name)
    if pipeline_id is None:
        pipeline_id = client.upload_pipeline(package, pipeline_name=name, description=description).pipeline_id
        versions = client.list_pipeline_versions(pipeline_id, page_size=1, sort_by="created_at desc")
        version_id = versions.pipeline_versions[0].pipeline_version_id
    else:
        version_id = client.upload_pipeline_version(
            package, pipeline_version_name=f"{name}-{stamp}", pipeline_id=pipeline_id
        ).pipeline_version_id
    experiment_id = client.create_experiment(experiment).experiment_id
    run = client.run_pipeline(experiment_id=experiment_id, job_name=f"{name}-{stamp}",
                              pipeline_id=pipeline_id, version_id=version_id, params=parameters)
    url = f"{host.rstrip('/')}/#/runs/details/{run.run_id}"
    logger.info("Submitted %s: run %s in experiment %s", name, run.run_id, experiment)
    return SubmittedRun(pipeline_id, version_id, experiment_id, run.run_id, url)
