"""Submit a compiled pipeline to Kubeflow Pipelines with the KFP SDK's own client.

TFX's Kubeflow v2 runner writes a Vertex-style PipelineJob (`pipelineSpec` + `runtimeConfig`);
a KFP v2 server takes the `pipelineSpec` itself, with the pipeline root as its
`defaultPipelineRoot`. The pipeline is uploaded under its Kubeflow name (a new version when
that name exists), and a run of that version is started in the experiment.
"""
from __future__ import annotations

import datetime
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from typing import Any

import kfp

from pipelines.names import DEFAULT_EXPERIMENT

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SubmittedRun:
    pipeline_id: str
    version_id: str
    experiment_id: str
    run_id: str
    url: str


def kfp_pipeline_spec(compiled: dict[str, Any]) -> dict[str, Any]:
    """The KFP IR of a TFX-compiled PipelineJob, the pipeline root as its default root."""
    spec = dict(compiled["pipelineSpec"])
    root = compiled.get("runtimeConfig", {}).get("gcsOutputDirectory")
    if root:
        spec["defaultPipelineRoot"] = root
    return spec


def submit(compiled: dict[str, Any], host: str, experiment: str = DEFAULT_EXPERIMENT,
           description: str = "", parameters: dict[str, Any] | None = None) -> SubmittedRun:
    """Uploads `compiled` (a new version if its name exists) and starts a run in `experiment`
    with `parameters` as the run's pipeline parameters (train_epochs, eval_lower_bound, …)."""
    spec = kfp_pipeline_spec(compiled)
    name = spec["pipelineInfo"]["name"]
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    client = kfp.Client(host=host)
    with tempfile.TemporaryDirectory() as scratch:
        package = os.path.join(scratch, f"{name}.json")
        with open(package, "w", encoding="utf-8") as handle:
            json.dump(spec, handle)
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
                              pipeline_id=pipeline_id, version_id=version_id, params=parameters or {})
    url = f"{host.rstrip('/')}/#/runs/details/{run.run_id}"
    logger.info("Submitted %s: run %s in experiment %s", name, run.run_id, experiment)
    return SubmittedRun(pipeline_id, version_id, experiment_id, run.run_id, url)
