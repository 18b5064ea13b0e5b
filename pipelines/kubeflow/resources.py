"""What a compiled pipeline asks of the cluster: CPU, memory and GPUs per step; its Kubeflow name;
paths under its root.

Shared by both compilers (open-source KFP and Vertex AI).
"""
from __future__ import annotations

import os
import re

from pipelines.names import TRAINER_ID
from pipelines.spec.pipeline_spec import ComponentResources, KubeflowConfig

DEFAULT_GPU_TYPE = "nvidia.com/gpu"
# KFP's ResourceSpec counts memory in GB (10^9 bytes).
_MEMORY_UNITS_IN_GB = {
    "": 1e-9, "k": 1e-6, "Ki": 1024 / 1e9, "M": 1e-3, "Mi": 1024**2 / 1e9,
    "G": 1.0, "Gi": 1024**3 / 1e9, "T": 1e3, "Ti": 1024**4 / 1e9,
}
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(m|k|Ki|M|Mi|G|Gi|T|Ti)?$")


def cpu_cores(quantity: str) -> float:
    """Kubernetes CPU quantity ("2", "500m") in cores."""
    number, unit = _QUANTITY.match(quantity).groups()  # validated by the spec's pattern
    return float(number) / 1000 if unit == "m" else float(number)


def memory_gb(quantity: str) -> float:
    """Kubernetes memory quantity ("8Gi", "512Mi", "4G") in GB, as KFP's ResourceSpec wants."""
    number, unit = _QUANTITY.match(quantity).groups()
    return float(number) * _MEMORY_UNITS_IN_GB[unit or ""]


def kubeflow_pipeline_name(spec_id: str) -> str:
    """Kubeflow v2 pipeline names allow only [a-z0-9-]: `iris_softmax` becomes `iris-softmax`."""
    return spec_id.replace("_", "-")


def component_resources(kubeflow: KubeflowConfig, component_id: str) -> ComponentResources | None:
    """What the spec asks for `component_id`: the Trainer's section, its own entry, or `default`."""
    if component_id == TRAINER_ID:
        return kubeflow.trainer
    return kubeflow.resources.get(component_id) or kubeflow.resources.get("default")




def join_uri(root: str, path: str) -> str:
    """`path` under the pipeline root `root` (`gs://…`, `s3://…` or a directory); absolute paths
    and URIs as given."""
    if "://" in path or os.path.isabs(path):
        return path
    return root.rstrip("/") + "/" + path
