"""Commands for Kubeflow Pipelines: `compile`, `submit`, `run-compiled`."""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from typing import TYPE_CHECKING

from components.shipped import PACKAGE_SCHEME
from pipelines.cli import output
from pipelines.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    AddCommand,
    UsageError,
    key_values,
    spec_from_args,
    writable_file,
)
from pipelines.kubeflow.backend_versions import NEWEST_CHECKED, format_version
from pipelines.kubeflow.metadata_address import DEFAULT_METADATA
from pipelines.names import DEFAULT_EXPERIMENT
from pipelines.spec.errors import SpecError
from pipelines.spec.pipeline_spec import KFP_TARGET, TARGETS, VERTEX_TARGET, PipelineSpec, load_spec, spec_ids

if TYPE_CHECKING:
    from pipelines.kubeflow.kfp_local_runner import KfpPipelineRunner

_NEWEST_BACKEND = format_version(NEWEST_CHECKED)
TARGET_SERVICES = {KFP_TARGET: "open-source Kubeflow Pipelines", VERTEX_TARGET: "Vertex AI Pipelines"}


def cmd_compile(args: argparse.Namespace) -> int:
    if args.all:
        return _compile_all(args)
    if not args.output:
        raise UsageError("compile: give --output FILE (or --all --output-dir DIR)")
    _check_target_options(args)
    spec = _for_cluster(spec_from_args(args, heavy_rules=False), args, args.target)
    writable_file(args.output, "--output")
    spec.check_heavy_rules()
    _warn_of_missing_storage_settings(spec, args.data_path)
    compiled = _compile(spec, args, args.output, args.data_path)  # heavy: TFX, TF, Beam
    print(f"{spec.id}: {TARGET_SERVICES[args.target]} pipeline written to {args.output}")
    output.print_run_parameters(_pipeline_inputs(compiled))
    return EXIT_OK


def _for_cluster(spec: PipelineSpec, args: argparse.Namespace, target: str = KFP_TARGET) -> PipelineSpec:
    """`spec` with the command line's cluster options over its `kubeflow` section; `SpecError`."""
    return spec.for_cluster(pipeline_root=args.pipeline_root, image=args.image, gpu_image=args.gpu_image,
                            metadata=args.metadata, target=target, env=key_values(args.env, "--env"),
                            secret_env=key_values(args.secret_env, "--secret-env", _secret_source),
                            retries=_retries(args.retries))


def _secret_source(text: str) -> dict[str, str]:
    """`SECRET:KEY` (a key of a Kubernetes secret) as the spec writes it."""
    secret, colon, key = text.partition(":")
    if not colon or not secret or not key:
        raise UsageError(f"--secret-env: expected NAME=SECRET:KEY (a key of a Kubernetes secret), got {text!r}")
    return {"secret": secret, "key": key}


def _retries(items: list[str]) -> dict[str, int]:
    """`--retries N` (every step but the Pusher) or `--retries COMPONENT=N`, as `kubeflow.retries`."""
    retries = {}
    for item in items:
        name, equals, count = item.rpartition("=")
        if not count.isdigit():
            raise UsageError(f"--retries {item!r}: expected N or COMPONENT=N with N a whole number >= 0")
        retries[name if equals else "default"] = int(count)
    return retries


def _warn_of_missing_storage_settings(spec: PipelineSpec, data_path: str | None) -> None:
    from pipelines.kubeflow.storage import s3_settings_warnings

    kubeflow = spec.kubeflow
    locations = [kubeflow.pipeline_root or "", data_path or spec.data.path or ""]
    for warning in s3_settings_warnings(locations, kubeflow.env, kubeflow.secret_env):
        print(f"warning: {spec.id}: {warning}", file=sys.stderr)


def _check_target_options(args: argparse.Namespace) -> None:
    if args.target == VERTEX_TARGET and args.metadata:
        raise UsageError("--metadata: Vertex AI Pipelines keeps ML Metadata itself; the option is for "
                         "--target kubeflow")
    for option in ("env", "secret_env", "retries"):
        if args.target == VERTEX_TARGET and getattr(args, option):
            raise UsageError(f"--{option.replace('_', '-')}: the option is for --target kubeflow (open-source KFP); "
                             "Vertex AI Pipelines steps take their service account's credentials")


def _compile(spec: PipelineSpec, args: argparse.Namespace, output_file: str, data_path: str | None) -> dict:
    """The compiled pipeline of `spec` for `args.target`, reading `data_path`, written to `output_file`."""
    if args.target == VERTEX_TARGET:
        from pipelines.kubeflow.vertex_compiler import compile_for_vertex

        return compile_for_vertex(spec, output_file, pipeline_root=args.pipeline_root, image=args.image,
                                  data_path=data_path, gpu_image=args.gpu_image)
    from pipelines.kubeflow.kfp_compiler import compile_for_kfp

    return compile_for_kfp(spec, output_file, pipeline_root=args.pipeline_root, image=args.image,
                           data_path=data_path, gpu_image=args.gpu_image, metadata=args.metadata)


def _pipeline_inputs(compiled: dict) -> dict:
    from pipelines.kubeflow.compiled import as_pipeline_job, pipeline_inputs

    return pipeline_inputs(as_pipeline_job(compiled))


def _compile_all(args: argparse.Namespace) -> int:
    """Every shipped spec into DIR/<id>.yaml (.json for Vertex); all are tried, every failure reported.

    With --data-dir BASE each spec whose source reads files that no image ships reads BASE/<id>;
    the others keep the shipped or generated data."""
    if args.id or getattr(args, "spec", None) or not args.output_dir:
        raise UsageError("compile --all: give --output-dir DIR, and no ID or --spec")
    _check_target_options(args)
    extension = "json" if args.target == VERTEX_TARGET else "yaml"
    failures = []
    for spec_id in spec_ids():
        target = os.path.join(args.output_dir, f"{spec_id}.{extension}")
        try:
            spec = _for_cluster(load_spec(spec_id), args, args.target)
            _compile(spec, args, target, _data_dir_of(spec, args.data_path))
        except SpecError as error:
            failures.append(str(error))
            continue
        print(f"{spec_id}: {target}")
    for failure in failures:
        print(f"error: {failure}", file=sys.stderr)
    return EXIT_USAGE if failures else EXIT_OK


def _data_dir_of(spec: PipelineSpec, base: str | None) -> str | None:
    """`base/<id>` for a spec whose source needs files on the cluster; None for shipped or generated
    data, and for a spec whose data.path names an installed package's files (`package://`, taxi_tips)."""
    source = spec.data.known_source()
    if base is None or source is None or source.generated or source.shipped_in is not None:
        return None
    if spec.data.path is not None and spec.data.path.startswith(PACKAGE_SCHEME):
        return None
    return f"{base.rstrip('/')}/{spec.id}"


def cmd_submit(args: argparse.Namespace) -> int:
    """Compiles the spec for open-source KFP and starts a run (or a recurring run) on that server
    with kfp.Client; with --wait, follows the run to its end."""
    from pipelines.kubeflow.submit_options import Connection, SubmitOptionError, parse_schedule

    try:
        connection = Connection.from_options(args.host, args.namespace, args.token_file)
        schedule = parse_schedule(args.cron, args.every)
    except SubmitOptionError as error:
        raise UsageError(str(error)) from None
    if schedule is not None and args.wait:
        raise UsageError("--wait: follows one run; a recurring run (--cron, --every) starts many")
    spec = _for_cluster(spec_from_args(args, heavy_rules=False), args)
    from pipelines.kubeflow.compiled import CompiledPipelineError, run_parameters
    from pipelines.kubeflow.kfp_compiler import compile_for_kfp  # heavy: TFX, TF, Beam
    from pipelines.kubeflow.submit import NamespaceRequiredError, SubmitError, submit, wait_for_run

    spec.check_heavy_rules()
    _warn_of_missing_storage_settings(spec, args.data_path)
    with tempfile.TemporaryDirectory() as scratch:
        package = os.path.join(scratch, f"{spec.id}.yaml")
        compiled = compile_for_kfp(spec, package, pipeline_root=args.pipeline_root, image=args.image,
                                   data_path=args.data_path, gpu_image=args.gpu_image, metadata=args.metadata)
        try:
            parameters = run_parameters({"pipelineSpec": compiled}, key_values(args.param, "--param"))
        except CompiledPipelineError as error:
            raise UsageError(f"{spec.id}: {error}") from None
        try:
            run = submit(package, compiled["pipelineInfo"]["name"], connection, args.experiment, spec.description,
                         parameters, version_name=args.version_name, schedule=schedule)
        except NamespaceRequiredError as error:
            raise UsageError(f"{spec.id}: {error}") from None
        except SubmitError as error:
            print(f"error: {spec.id}: {error}", file=sys.stderr)
            return EXIT_FAILED
    output.print_submitted(spec.id, connection, args.experiment, run)
    if not args.wait:
        return EXIT_OK
    try:
        final = wait_for_run(connection, run.run_id, output.print_step_state, args.poll_seconds)
    except SubmitError as error:
        print(f"error: {spec.id}: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(f"run {run.run_id}: {final}")
    return EXIT_OK if final == "SUCCEEDED" else EXIT_FAILED


def cmd_run_compiled(args: argparse.Namespace) -> int:
    """Executes a compiled pipeline's steps here, as its cluster would."""
    from pipelines.kubeflow.compiled import CompiledPipelineError, CompiledStepError, load_compiled
    from pipelines.kubeflow.kfp_local_runner import is_kfp_pipeline

    try:
        document = load_compiled(args.file)
        parameters = key_values(args.param, "--param")
        if is_kfp_pipeline(document):
            return _run_kfp_pipeline(args, document, parameters)
        return _run_vertex_pipeline(args, document, parameters)
    except CompiledPipelineError as error:
        raise UsageError(str(error)) from None
    except CompiledStepError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED


def _run_kfp_pipeline(args: argparse.Namespace, document: dict, parameters: dict[str, str]) -> int:
    from pipelines.kubeflow.backend_versions import format_version, parse_version
    from pipelines.kubeflow.compiled import load_platform_spec
    from pipelines.kubeflow.kfp_local_runner import KfpPipelineRunner

    if args.mount:
        raise UsageError("--mount: a pipeline compiled for open-source KFP names no path of an image "
                         "(shipped files are found in this installation); the option is for Vertex pipelines")
    try:
        version = parse_version(args.backend_version)
    except ValueError as error:
        raise UsageError(f"--backend-version: {error}") from None
    runner = KfpPipelineRunner(document, backend_version=version, platform_spec=load_platform_spec(args.file))
    _check_metadata_is_reachable(args.file, runner)
    print(f"{args.file}: running {runner.name} ({len(runner.tasks)} steps, up to {runner.parallelism} at once) "
          f"as KFP backend {format_version(version)}")
    run = runner.run(parameters, log_dir=args.log_dir)
    output.print_kfp_run(run, runner.run_summary(run))
    return EXIT_OK


def _check_metadata_is_reachable(path: str, runner: KfpPipelineRunner) -> None:
    """A pipeline compiled for the cluster's metadata service (gRPC, the default) cannot run here:
    say so before its steps start, each of which would wait for the service and fail."""
    from pipelines.kubeflow.compiled import CompiledPipelineError

    try:
        address = runner.metadata_address()
    except CompiledPipelineError:
        return  # not a coursepipe pipeline: its steps name no store
    if address.scheme == "grpc" and (reason := address.unreachable_reason()):
        raise UsageError(
            f"{path}: its steps use ML Metadata at {address.uri}, which this machine cannot reach ({reason}); "
            "that is the cluster's metadata service: to run the pipeline here, compile it with "
            "--metadata sqlite:///ABSOLUTE/PATH (or mysql://HOST:PORT/DATABASE) and a local --pipeline-root"
        )


def _run_vertex_pipeline(args: argparse.Namespace, document: dict, parameters: dict[str, str]) -> int:
    from components.validation.schemas import shipped_schemas_dir
    from pipelines.kubeflow.compiled import as_pipeline_job
    from pipelines.kubeflow.vertex_compiler import IMAGE_SCHEMAS_DIR
    from pipelines.kubeflow.vertex_local_runner import CompiledPipelineRunner

    mounts = {IMAGE_SCHEMAS_DIR: shipped_schemas_dir(), **key_values(args.mount, "--mount")}
    runner = CompiledPipelineRunner(as_pipeline_job(document), mounts=mounts)
    print(f"{args.file}: running {runner.name} under {runner.root}")
    output.print_compiled_run(runner.run(parameters))
    return EXIT_OK


def _add_cluster_options(parser: argparse.ArgumentParser) -> None:
    """What `compile` and `submit` need to know of the cluster (each overrides the spec's)."""
    parser.add_argument("--metadata", metavar="URI",
                        help="where the steps find ML Metadata (open-source KFP): grpc://HOST:PORT (default "
                        f"{DEFAULT_METADATA}), mysql://HOST:PORT/DATABASE or sqlite:///PATH")
    parser.add_argument("--pipeline-root", metavar="URI", help="pipeline root on the cluster (gs://, s3://, …)")
    parser.add_argument("--image", metavar="IMAGE", help="container image with this project installed")
    parser.add_argument("--gpu-image", metavar="IMAGE",
                        help="the Trainer's image when the spec requests GPUs (the project on CUDA/cuDNN)")
    parser.add_argument("--data-dir", "--data-path", dest="data_path", metavar="URI",
                        help="the data directory (or file) as the pods see it (gs://, s3:// or a mounted path; "
                        "default: the spec's data.path, or the data an installed package ships); "
                        "with --all: a base folder, each spec reading URI/<id>")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="an environment variable of every step, over the spec's kubeflow.env, e.g. "
                        "S3_ENDPOINT=http://minio-service.kubeflow:9000 (no secrets: use --secret-env)")
    parser.add_argument("--secret-env", action="append", default=[], metavar="NAME=SECRET:KEY",
                        help="an environment variable of every step from a key of a Kubernetes secret, e.g. "
                        "AWS_ACCESS_KEY_ID=mlpipeline-minio-artifact:accesskey")
    parser.add_argument("--retries", action="append", default=[], metavar="[COMPONENT=]N",
                        help="how often a failed step is started again (KFP backend 2.5.0+): N for every step but "
                        "the Pusher (default 2), COMPONENT=N for one (Pusher=1 to retry pushes too)")


def register(add: AddCommand) -> None:
    comp = add("compile", cmd_compile, "write a pipeline for Kubeflow Pipelines (open-source KFP 2.x or Vertex AI)")
    comp.add_argument("--target", choices=TARGETS, default=KFP_TARGET,
                      help="kubeflow: the open-source KFP 2.x backend (KFP pipeline YAML, one TFX node per step; "
                      "the default); vertex: Vertex AI Pipelines (TFX's Kubeflow v2 JSON)")
    comp.add_argument("--output", metavar="FILE", help="where to write the pipeline (YAML; JSON for vertex)")
    comp.add_argument("--all", action="store_true", help="compile every shipped spec (with --output-dir)")
    comp.add_argument("--output-dir", metavar="DIR", help="with --all: where the <id>.yaml (.json) files go")
    _add_cluster_options(comp)

    sub = add("submit", cmd_submit, "compile a pipeline and start a run on an open-source KFP server (kfp.Client)")
    sub.add_argument("--host", required=True, metavar="URL", help="the KFP API endpoint, e.g. http://localhost:8080")
    sub.add_argument("--experiment", default=DEFAULT_EXPERIMENT, metavar="NAME", help="experiment of the run")
    sub.add_argument("--namespace", metavar="NAMESPACE",
                     help="multi-user Kubeflow: your profile's namespace, where the experiment and its runs live")
    sub.add_argument("--token-file", metavar="PATH",
                     help="a file holding the bearer token sent with each request (default: the file named by "
                     "KF_PIPELINES_SA_TOKEN_PATH, else the token in COURSEPIPE_KFP_TOKEN; never on the command line)")
    sub.add_argument("--version-name", metavar="NAME",
                     help="the name of the new pipeline version when the pipeline exists (default NAME-TIMESTAMP)")
    sub.add_argument("--wait", action="store_true",
                     help="follow the run: print each step's state as it changes; exit 0 when it succeeded, else 1")
    sub.add_argument("--poll-seconds", type=float, default=15.0, metavar="S", help="with --wait: how often to ask")
    sub.add_argument("--cron", metavar="EXPR",
                     help="a recurring run instead of one run: KFP's six-field cron, seconds first "
                     "('0 0 2 * * *' daily at 02:00), or @daily, @every 6h; each run takes the newest span")
    sub.add_argument("--every", metavar="DURATION", help="a recurring run every DURATION (30m, 6h, 1d)")
    _add_cluster_options(sub)
    sub.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                     help="a pipeline parameter for this run, e.g. train_epochs=50 or eval_lower_bound=0.95")

    local = add("run-compiled", cmd_run_compiled,
                "execute a compiled pipeline's steps here, each in its own process, as its cluster would",
                takes_spec=False)
    local.add_argument("file", help="what 'coursepipe compile' wrote, compiled with a --pipeline-root and "
                       "--metadata this machine reaches (a directory and sqlite:///PATH, or S3 and MySQL)")
    local.add_argument("--log-dir", metavar="DIR",
                       help="where each step's log goes (default runs/compiled/NAME/RUN_ID; kubeflow target)")
    local.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                       help="a pipeline parameter for this run, e.g. train_epochs=5")
    local.add_argument("--backend-version", default=_NEWEST_BACKEND, metavar="X.Y.Z",
                       help="kubeflow target: the open-source KFP backend release to emulate (what its driver fills "
                       f"in, retries, the platform spec it reads); default {_NEWEST_BACKEND}, oldest 2.0.0")
    local.add_argument("--mount", action="append", default=[], metavar="IMAGE_PATH=LOCAL_PATH",
                       help="vertex target: a path inside the image and its copy here (the shipped schemas are "
                       "mounted already)")
