"""The open-source Kubeflow Pipelines backend versions this project supports, and where they differ.

A compiled pipeline is one YAML; the backend that runs it may be any 2.x release a user installed.
The differences that matter to our pipelines, each read from the backend's source at its tag
(github.com/kubeflow/pipelines, `backend/src/...`):

- 2.0.0: the API server replaces `{{workflow.uid}}` in the whole workflow by the run's id
  (`apiserver/template/v2_template.go`, `ReplaceUID`; recurring runs: the scheduled-workflow
  controller, `crd/controller/scheduledworkflow/util/scheduled_workflow.go`);
- 2.1.0: the Kubernetes platform spec knows `tolerations` (2.0.x pins a `kubernetes_platform`
  without them in `go.mod` and refuses the unknown field);
- 2.5.0: the driver fills a parameter constant that is one of KFP's run placeholders
  (`{{$.pipeline_job_uuid}}`; `v2/driver/driver.go`, kubeflow/pipelines#11599);
- 2.5.0: a task's `retryPolicy` becomes Argo's `retryStrategy` (`v2/compiler/argocompiler/
  container.go`); before, it is ignored;
- 2.5.0: each task uploads its `executor-logs` to the run's KFP pipeline root
  (`v2/component/launcher_v2.go`).

So the compiled pipeline names the run by `{{workflow.uid}}` (every 2.x), and `coursepipe
run-compiled --backend-version X` emulates the release a user runs. Light: no KFP, no TFX.
"""
from __future__ import annotations

import re

Version = tuple[int, int, int]

OLDEST_SUPPORTED: Version = (2, 0, 0)
NEWEST_CHECKED: Version = (2, 17, 0)
# Each feature: the first backend release that has it.
RUN_PLACEHOLDERS_IN_CONSTANTS: Version = (2, 5, 0)
RETRY_POLICY: Version = (2, 5, 0)
TOLERATIONS: Version = (2, 1, 0)
EXECUTOR_LOGS_UPLOAD: Version = (2, 5, 0)

# What the compiled pipeline passes as TFX's run id: the Argo placeholder the API server replaces
# by the KFP run's id in every 2.x (KFP's own `{{$.pipeline_job_uuid}}` only from 2.5.0).
RUN_ID_PLACEHOLDER = "{{workflow.uid}}"

_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?$")


def parse_version(text: str) -> Version:
    """`2.4.1`, `2.4` or `v2.4.1` as a tuple; `ValueError` naming what is supported."""
    match = _VERSION.match(text.strip())
    if not match:
        raise ValueError(f"expected a KFP backend version such as 2.4.1, got {text!r}")
    version = (int(match.group(1)), int(match.group(2)), int(match.group(3) or 0))
    if not OLDEST_SUPPORTED <= version < (NEWEST_CHECKED[0], NEWEST_CHECKED[1] + 1, 0):
        raise ValueError(f"KFP backend {text} is not supported; supported: {format_version(OLDEST_SUPPORTED)} "
                         f"to {NEWEST_CHECKED[0]}.{NEWEST_CHECKED[1]}.x")
    return version


def format_version(version: Version) -> str:
    return ".".join(str(part) for part in version)


def has(version: Version, feature: Version) -> bool:
    """Whether backend `version` has the feature that first shipped in release `feature`."""
    return version >= feature
