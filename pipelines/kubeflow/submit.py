"""Submit a compiled pipeline to an open-source Kubeflow Pipelines server with the KFP SDK's client.

The package is the YAML `pipelines.kubeflow.kfp_compiler` writes (with its Kubernetes platform
spec). It is uploaded under its Kubeflow name (a new version when that name exists), and a run of
that version is started in the experiment, or a recurring run that starts one on a schedule
(continuous training on new spans: each run's ExampleGen takes the newest span). On a multi-user
Kubeflow the experiment, and with it every run, lives in the user's profile namespace, and each
request carries the user's bearer token (`submit_options`).
"""
from __future__ import annotations

import datetime
import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Callable

import kfp
import kfp_server_api
from kfp.client.set_volume_credentials import ServiceAccountTokenVolumeCredentials

from pipelines.kubeflow.submit_options import Connection, Schedule
from pipelines.names import DEFAULT_EXPERIMENT

logger = logging.getLogger(__name__)

# A run's states (V2beta1RuntimeState) after which nothing changes; only SUCCEEDED is success.
FINAL_STATES = ("SUCCEEDED", "FAILED", "SKIPPED", "CANCELED")


class SubmitError(RuntimeError):
    """The KFP server refused a request: what was asked and the server's own message."""


class NamespaceRequiredError(SubmitError):
    """The server is a multi-user Kubeflow and no namespace was given."""


@dataclass(frozen=True)
class SubmittedRun:
    pipeline_id: str
    version_id: str
    experiment_id: str
    run_id: str  # the run, or the recurring run with `schedule`
    url: str
    schedule: Schedule | None = None


def connect(connection: Connection) -> kfp.Client:
    """A client of the server with the user's credentials, in the user's namespace."""
    credentials = ServiceAccountTokenVolumeCredentials(connection.token_file) if connection.token_file else None
    options: dict[str, Any] = {"credentials": credentials, "existing_token": connection.token}
    if connection.namespace:
        options["namespace"] = connection.namespace
    try:
        return kfp.Client(host=connection.host, **options)
    except kfp_server_api.ApiException as error:
        raise SubmitError(_refusal(connection.host, error)) from None


def submit(package: str, name: str, connection: Connection, experiment: str = DEFAULT_EXPERIMENT,
           description: str = "", parameters: dict[str, Any] | None = None, version_name: str | None = None,
           schedule: Schedule | None = None) -> SubmittedRun:
    """Uploads the compiled pipeline `package` as `name` (a new version, `version_name`, if that
    name exists) and starts a run in `experiment` with `parameters` (train_epochs, ...), or a
    recurring run on `schedule`."""
    try:
        client = connect(connection)
        if client.get_kfp_healthz().multi_user and not connection.namespace:
            raise NamespaceRequiredError(f"{connection.host} is a multi-user Kubeflow: give --namespace (your profile's "
                              "namespace), where the experiment and its runs live")
        return _submit(client, package, name, connection, experiment, description, parameters or {},
                       version_name, schedule)
    except kfp_server_api.ApiException as error:
        raise SubmitError(_refusal(connection.host, error)) from None


def _refusal(host: str, error: kfp_server_api.ApiException) -> str:
    return f"{host} refused the request ({error.status} {error.reason}): {_server_message(error)}"


def _server_message(error: kfp_server_api.ApiException) -> str:
    try:
        return json.loads(error.body).get("error_message") or error.body
    except (TypeError, ValueError, AttributeError):
        return str(error.body)


def _submit(client: kfp.Client, package: str, name: str, connection: Connection, experiment: str, description: str,
            parameters: dict[str, Any], version_name: str | None, schedule: Schedule | None) -> SubmittedRun:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    pipeline_id = client.get_pipeline_id(name)
    if pipeline_id is None:
        pipeline_id = client.upload_pipeline(package, pipeline_name=name, description=description).pipeline_id
        versions = client.list_pipeline_versions(pipeline_id, page_size=1, sort_by="created_at desc")
        version_id = versions.pipeline_versions[0].pipeline_version_id
    else:
        version_id = client.upload_pipeline_version(
            package, pipeline_version_name=version_name or f"{name}-{stamp}", pipeline_id=pipeline_id
        ).pipeline_version_id
    experiment_id = client.create_experiment(experiment, namespace=connection.namespace).experiment_id
    host = connection.host.rstrip("/")
    if schedule is not None:
        recurring = client.create_recurring_run(
            experiment_id=experiment_id, job_name=f"{name}-{stamp}", cron_expression=schedule.cron,
            interval_second=schedule.interval_seconds, max_concurrency=1, no_catchup=True, params=parameters,
            pipeline_id=pipeline_id, version_id=version_id,
        )
        logger.info("Scheduled %s (%s): recurring run %s", name, schedule.describe(), recurring.recurring_run_id)
        return SubmittedRun(pipeline_id, version_id, experiment_id, recurring.recurring_run_id,
                            f"{host}/#/recurringrun/details/{recurring.recurring_run_id}", schedule)
    run = client.run_pipeline(experiment_id=experiment_id, job_name=f"{name}-{stamp}",
                              pipeline_id=pipeline_id, version_id=version_id, params=parameters)
    logger.info("Submitted %s: run %s in experiment %s", name, run.run_id, experiment)
    return SubmittedRun(pipeline_id, version_id, experiment_id, run.run_id, f"{host}/#/runs/details/{run.run_id}")


def wait_for_run(connection: Connection, run_id: str, on_step: Callable[[str, str], None],
                 poll_seconds: float = 15.0) -> str:
    """Follows the run until it ends: `on_step(step, state)` for each step whose state changed;
    returns the run's final state (SUCCEEDED, FAILED, SKIPPED or CANCELED)."""
    client = connect(connection)
    seen: dict[str, str] = {}
    while True:
        try:
            run = client.get_run(run_id)
        except kfp_server_api.ApiException as error:
            raise SubmitError(_refusal(connection.host, error)) from None
        details = run.run_details.task_details if run.run_details and run.run_details.task_details else []
        for task in details:
            step, state = task.display_name or task.task_id, task.state or "RUNTIME_STATE_UNSPECIFIED"
            if step and seen.get(step) != state:
                seen[step] = state
                on_step(step, state)
        if run.state in FINAL_STATES:
            return run.state
        time.sleep(poll_seconds)
