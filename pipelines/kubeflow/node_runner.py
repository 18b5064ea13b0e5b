"""One TFX node in one process: what every step of a pipeline compiled for open-source Kubeflow
Pipelines runs (`python -m pipelines.kubeflow.node_runner ...`).

A step gets its node's compiled TFX intermediate representation (one `pipeline_pb2.Pipeline` holding
that node and its executor), the KFP run's id, the ML Metadata address and the run's parameters.
It runs TFX's portable `Launcher` on the node, the same driver, executor and publisher
`LocalDagRunner` runs per node, against the cluster's ML Metadata. So TFX itself resolves the
node's inputs (the upstream steps' outputs of this run, the last blessed model, the previous
span's statistics), computes spans and fingerprints, and takes a node whose inputs and properties
are unchanged from its cache; KFP only sees container steps and the order between them.

Exit status: 0 when the node's execution completed or came from the cache (or when a resolver
found nothing to resolve), 1 when TFX recorded it FAILED or the executor raised, 2 for arguments
this runner cannot use.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import dataclass, field
from typing import Any, Sequence

from components.shipped import resolve_package_uri
from pipelines.command_line import command_line_hidden, exit_without_teardown
from pipelines.kubeflow.filesystems import MissingFilesystemError, load_filesystems_for
from pipelines.kubeflow.metadata_address import MYSQL_PASSWORD_ENV, MYSQL_USER_ENV, MetadataAddress

logger = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
# The TFX IR's names for the id every node of one run shares and for the root
# (`tfx.dsl.compiler.constants`): set by the runner, not by the run's parameters.
PIPELINE_RUN_ID = "pipeline-run-id"
TFX_PARAMETERS = (PIPELINE_RUN_ID, "pipeline-root")


class NodeArgumentError(ValueError):
    """An argument of the step that cannot be used: says which and why."""


class MetadataUnreachableError(RuntimeError):
    """ML Metadata refused or did not answer: the address, what it said, what to check."""


def check_metadata_store(address: MetadataAddress, connection: Any) -> None:
    """Opens the store once before the launcher does: ML Metadata's own error for a refused MySQL
    login is `mysql_real_connect failed: errno: , error: ` and names nothing."""
    import ml_metadata as mlmd

    try:
        mlmd.MetadataStore(connection)
    except RuntimeError as error:
        hint = (f"; check {MYSQL_USER_ENV} and {MYSQL_PASSWORD_ENV} in the step's environment, and that "
                f"the server on {address.host}:{address.port} accepts that user from this host"
                if address.scheme == "mysql" else "")
        raise MetadataUnreachableError(f"cannot open ML Metadata at {address.uri}: {error}{hint}") from None


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m pipelines.kubeflow.node_runner", description=__doc__)
    parser.add_argument("--node-ir", required=True, metavar="JSON",
                        help="the node's compiled TFX IR (a pipeline_pb2.Pipeline with one node)")
    parser.add_argument("--run-id", required=True, help="the pipeline run this step belongs to")
    parser.add_argument("--metadata", required=True, metavar="URI", help="where ML Metadata is")
    parser.add_argument("--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="a run parameter of this node (train_epochs, eval_lower_bound, ...)")
    parser.add_argument("--kfp-output", nargs=2, action="append", default=[], metavar=("NAME", "PATH"),
                        help="where KFP's launcher takes this step's output artifact NAME from (metrics, view)")
    parser.add_argument("--kfp-executor-input", metavar="JSON",
                        help="KFP's executor input ({{$}}): where the launcher reads the metrics' metadata")
    parser.add_argument("--gate-metric", metavar="NAME", help="the metric that blesses a model (the Evaluator)")
    return parser.parse_args(argv)


def typed_parameters(declared: dict[str, Any], given: Sequence[Sequence[str]]) -> dict[str, Any]:
    """The run's parameter values (text, as KFP fills them into arguments) converted to the type of
    the compiled default: `500` or `500.0` for an int parameter, `0.9` for a float one."""
    values: dict[str, Any] = {}
    for name, text in given:
        if name not in declared:
            raise NodeArgumentError(f"--parameter {name}: this node has no such parameter; it has: "
                                    f"{', '.join(sorted(declared)) or 'none'}")
        default = declared[name]
        try:
            if isinstance(default, int):
                number = float(text)
                if number != int(number):
                    raise ValueError
                values[name] = int(number)
            elif isinstance(default, float):
                values[name] = float(text)
            else:
                values[name] = text
        except ValueError:
            kind = "a whole number" if isinstance(default, int) else "a number"
            raise NodeArgumentError(f"--parameter {name}: expected {kind}, got {text!r}") from None
    return values


def run_parameter_defaults(pipeline: Any) -> dict[str, Any]:
    """The run parameters a compiled IR (`pipeline_pb2.Pipeline`) declares, with their compiled
    defaults (None when it has none); TFX's own run id and root left out."""
    from tfx.orchestration.portable import runtime_parameter_utils

    probe = type(pipeline)()
    probe.CopyFrom(pipeline)  # substituting nothing still rewrites the message it walks
    declared = runtime_parameter_utils.substitute_runtime_parameter(probe, {})
    return {name: value for name, value in declared.items() if name not in TFX_PARAMETERS}


def _resolve_shipped_paths(node: Any) -> None:
    """`package://…` values of the node's parameters (shipped data, curated schemas) as paths of
    this machine's installation."""
    for value in node.parameters.parameters.values():
        field = value.field_value
        if field.HasField("string_value"):
            field.string_value = resolve_package_uri(field.string_value)


def check_run_id(run_id: str) -> None:
    """A run id still holding a placeholder was not filled in by the backend: every run would share
    it, and TFX would take run 1's executions as this run's (doing nothing, saying it succeeded)."""
    if "{{" in run_id:
        raise NodeArgumentError(
            f"--run-id: {run_id!r} is a placeholder the KFP backend did not fill in, so every run would share "
            "one TFX run and later runs would silently do nothing; KFP backends before 2.5.0 fill "
            "{{$.pipeline_job_uuid}} only in newer releases: recompile with this version of coursepipe "
            "(it passes {{workflow.uid}}, which every 2.x backend fills in)"
        )


@dataclass(frozen=True)
class KfpOutputs:
    """The step's KFP output artifacts: local paths by name, the executor input, the gated metric."""

    paths: dict[str, str] = field(default_factory=dict)
    executor_input: dict[str, Any] | None = None
    gate_metric: str | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> KfpOutputs:
        try:
            executor_input = json.loads(args.kfp_executor_input) if args.kfp_executor_input else None
        except json.JSONDecodeError as error:
            raise NodeArgumentError(f"--kfp-executor-input: not KFP's executor input (JSON): {error}") from None
        return cls(dict(args.kfp_output), executor_input, args.gate_metric)


def run_node(node_ir: str, run_id: str, metadata: str, parameters: Sequence[Sequence[str]],
             kfp_outputs: KfpOutputs | None = None) -> int:
    """Launches the node, then writes its KFP output artifacts; returns the exit status (see the
    module docstring)."""
    check_run_id(run_id)
    from google.protobuf import json_format
    from tfx.orchestration import metadata as tfx_metadata
    from tfx.orchestration.local import runner_utils
    from tfx.orchestration.portable import launcher, runtime_parameter_utils
    from tfx.proto.orchestration import pipeline_pb2

    try:
        address = MetadataAddress.parse(metadata)
    except ValueError as error:
        raise NodeArgumentError(f"--metadata: {error}") from None
    pipeline = pipeline_pb2.Pipeline()
    try:
        json_format.Parse(node_ir, pipeline)
    except json_format.ParseError as error:
        raise NodeArgumentError(f"--node-ir: not a compiled TFX pipeline node: {error}") from None
    if len(pipeline.nodes) != 1:
        raise NodeArgumentError(f"--node-ir: expected one node, got {len(pipeline.nodes)}")
    bindings = {**typed_parameters(run_parameter_defaults(pipeline), parameters), PIPELINE_RUN_ID: run_id}
    runtime_parameter_utils.substitute_runtime_parameter(pipeline, bindings)

    load_filesystems_for(node_ir)
    node = pipeline.nodes[0].pipeline_node
    node_id = node.node_info.id
    _resolve_shipped_paths(node)
    deployment = runner_utils.extract_local_deployment_config(pipeline)
    connection = address.connection_config()
    check_metadata_store(address, connection)
    node_launcher = launcher.Launcher(
        pipeline_node=node,
        mlmd_connection=tfx_metadata.Metadata(connection),
        pipeline_info=pipeline.pipeline_info,
        pipeline_runtime_spec=pipeline.runtime_spec,
        executor_spec=runner_utils.extract_executor_spec(deployment, node_id),
        custom_driver_spec=runner_utils.extract_custom_driver_spec(deployment, node_id),
    )
    logger.info("%s: run %s, ML Metadata at %s", node_id, run_id, metadata)
    with command_line_hidden():
        execution_info = node_launcher.launch()
    status = _exit_status(node_id, execution_info, tfx_metadata.Metadata(connection))
    if status == EXIT_OK and kfp_outputs is not None and kfp_outputs.paths:
        _write_kfp_outputs(node_id, connection, run_id, bindings, kfp_outputs)
    return status


def _write_kfp_outputs(node_id: str, connection: Any, run_id: str, bindings: dict[str, Any],
                       outputs: KfpOutputs) -> None:
    """The step's views for the KFP UI, read back from ML Metadata (see `kfp_views`). A view that
    cannot be made is logged, not fatal: the node itself succeeded and is recorded so."""
    from components.tunable import EVAL_LOWER_BOUND, EVAL_UPPER_BOUND
    from pipelines.kubeflow.kfp_views import Gate, step_views, write_step_outputs
    from pipelines.runs.summary import summary_of_run

    gate = None
    if outputs.gate_metric:
        gate = Gate(outputs.gate_metric, bindings.get(EVAL_LOWER_BOUND), bindings.get(EVAL_UPPER_BOUND))
    try:
        views = step_views(node_id, summary_of_run(connection, run_id), gate)
        write_step_outputs(views, outputs.paths, outputs.executor_input)
    except (OSError, ValueError, RuntimeError) as error:
        logger.warning("%s: the KFP UI's views of this step could not be written: %s", node_id, error)


def _exit_status(node_id: str, execution_info: Any, store: Any) -> int:
    """0 unless TFX recorded the node's execution as FAILED (`Launcher.launch` returns normally
    when it cannot resolve the node's inputs: it records a failed execution instead of raising)."""
    from ml_metadata.proto import metadata_store_pb2

    if execution_info is None or not execution_info.execution_id:
        logger.info("%s: nothing to execute", node_id)
        return EXIT_OK
    with store as handle:
        (execution,) = handle.store.get_executions_by_id([execution_info.execution_id])
    state = metadata_store_pb2.Execution.State.Name(execution.last_known_state)
    logger.info("%s: execution %d %s", node_id, execution.id, state)
    return EXIT_FAILED if execution.last_known_state == metadata_store_pb2.Execution.FAILED else EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from absl import logging as absl_logging

    absl_logging.set_verbosity(absl_logging.INFO)  # TFX logs through absl; a new process says WARNING only
    try:
        return run_node(args.node_ir, args.run_id, args.metadata, args.parameter, KfpOutputs.from_args(args))
    except NodeArgumentError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (MetadataUnreachableError, MissingFilesystemError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    exit_without_teardown(main())
