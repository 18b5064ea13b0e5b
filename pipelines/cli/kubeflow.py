"""Commands for Kubeflow Pipelines: `compile`, `submit`, `run-compiled`."""
from __future__ import annotations

import argparse
import os
import sys
import tempfile

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
from pipelines.errors import SpecError
from pipelines.names import DEFAULT_EXPERIMENT
from pipelines.spec import load_spec, spec_ids


def cmd_compile(args: argparse.Namespace) -> int:
    if args.all:
        return _compile_all(args)
    if not args.output:
        raise UsageError("compile: give --output FILE (or --all --output-dir DIR)")
    spec = spec_from_args(args, heavy_rules=False)
    spec.for_cluster(pipeline_root=args.pipeline_root, image=args.image, gpu_image=args.gpu_image)
    writable_file(args.output, "--output")
    from pipelines.kubeflow.compiled import pipeline_inputs
    from pipelines.kubeflow.vertex_compiler import compile_for_kubeflow  # heavy: TFX, TF, Beam

    spec.check_heavy_rules()
    compiled = compile_for_kubeflow(
        spec, args.output, pipeline_root=args.pipeline_root, image=args.image, data_path=args.data_path,
        gpu_image=args.gpu_image,
    )
    print(f"{spec.id}: Kubeflow pipeline written to {args.output}")
    output.print_run_parameters(pipeline_inputs(compiled))
    return EXIT_OK


def _compile_all(args: argparse.Namespace) -> int:
    """Every shipped spec into DIR/<id>.json; all specs are tried, every failure is reported."""
    from pipelines.kubeflow.vertex_compiler import compile_for_kubeflow

    if args.id or getattr(args, "spec", None) or args.data_path or not args.output_dir:
        raise UsageError("compile --all: give --output-dir DIR, and no ID, --spec or --data-dir "
                         "(each spec keeps its own data location)")
    failures = []
    for spec_id in spec_ids():
        target = os.path.join(args.output_dir, f"{spec_id}.json")
        try:
            compile_for_kubeflow(load_spec(spec_id), target, pipeline_root=args.pipeline_root,
                                 image=args.image, gpu_image=args.gpu_image)
        except SpecError as error:
            failures.append(str(error))
            continue
        print(f"{spec_id}: {target}")
    for failure in failures:
        print(f"error: {failure}", file=sys.stderr)
    return EXIT_USAGE if failures else EXIT_OK


def cmd_submit(args: argparse.Namespace) -> int:
    """Compiles the spec and submits it to a Kubeflow Pipelines server with kfp.Client."""
    spec = spec_from_args(args, heavy_rules=False)
    spec.for_cluster(pipeline_root=args.pipeline_root, image=args.image, gpu_image=args.gpu_image)
    from pipelines.kubeflow.compiled import CompiledPipelineError, run_parameters
    from pipelines.kubeflow.submit import submit
    from pipelines.kubeflow.vertex_compiler import compile_for_kubeflow  # heavy: TFX, TF, Beam

    spec.check_heavy_rules()
    with tempfile.TemporaryDirectory() as scratch:
        compiled = compile_for_kubeflow(
            spec, os.path.join(scratch, f"{spec.id}.json"), pipeline_root=args.pipeline_root, image=args.image,
            data_path=args.data_path, gpu_image=args.gpu_image,
        )
    try:
        parameters = run_parameters(compiled, key_values(args.param, "--param"))
    except CompiledPipelineError as error:
        raise UsageError(f"{spec.id}: {error}") from None
    run = submit(compiled, args.host, args.experiment, spec.description, parameters)
    print(f"{spec.id}: submitted to {args.host}")
    print(f"  pipeline {run.pipeline_id}, version {run.version_id}")
    print(f"  experiment {args.experiment} ({run.experiment_id}), run {run.run_id}")
    print(f"  {run.url}")
    return EXIT_OK


def cmd_run_compiled(args: argparse.Namespace) -> int:
    """Executes a compiled Kubeflow pipeline's steps here, through TFX's Kubeflow v2 entrypoint."""
    from components.validation.schemas import shipped_schemas_dir
    from pipelines.kubeflow.compiled import CompiledPipelineError, load_compiled
    from pipelines.kubeflow.vertex_compiler import IMAGE_SCHEMAS_DIR
    from pipelines.kubeflow.vertex_local_runner import CompiledPipelineRunner, CompiledStepError

    mounts = {IMAGE_SCHEMAS_DIR: shipped_schemas_dir(), **key_values(args.mount, "--mount")}
    try:
        runner = CompiledPipelineRunner(load_compiled(args.file), mounts=mounts)
        print(f"{args.file}: running {runner.name} under {runner.root}")
        run = runner.run(key_values(args.param, "--param"))
    except CompiledPipelineError as error:
        raise UsageError(str(error)) from None
    except CompiledStepError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    output.print_compiled_run(run)
    return EXIT_OK


def _add_cluster_options(parser: argparse.ArgumentParser) -> None:
    """What `compile` and `submit` need to know of the cluster (each overrides the spec's)."""
    parser.add_argument("--pipeline-root", metavar="URI", help="pipeline root on the cluster (gs://, s3://, …)")
    parser.add_argument("--image", metavar="IMAGE", help="container image with this project installed")
    parser.add_argument("--gpu-image", metavar="IMAGE",
                        help="the Trainer's image when the spec requests GPUs (the project on CUDA/cuDNN)")
    parser.add_argument("--data-dir", "--data-path", dest="data_path", metavar="URI",
                        help="the data directory (or file) as the cluster sees it (default: the spec's)")


def register(add: AddCommand) -> None:
    comp = add("compile", cmd_compile, "write the Kubeflow Pipelines v2 JSON of a pipeline")
    comp.add_argument("--output", metavar="FILE", help="where to write the JSON")
    comp.add_argument("--all", action="store_true", help="compile every shipped spec (with --output-dir)")
    comp.add_argument("--output-dir", metavar="DIR", help="with --all: where the <id>.json files go")
    _add_cluster_options(comp)

    sub = add("submit", cmd_submit, "compile a pipeline and start a run on Kubeflow Pipelines (kfp.Client)")
    sub.add_argument("--host", required=True, metavar="URL", help="the KFP API endpoint, e.g. http://localhost:8080")
    sub.add_argument("--experiment", default=DEFAULT_EXPERIMENT, metavar="NAME", help="experiment of the run")
    _add_cluster_options(sub)
    sub.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                     help="a pipeline parameter for this run, e.g. train_epochs=50 or eval_lower_bound=0.95")

    local = add("run-compiled", cmd_run_compiled,
                "execute a compiled Kubeflow pipeline's steps here, as a cluster would (TFX's v2 entrypoint)",
                takes_spec=False)
    local.add_argument("file", help="the JSON 'coursepipe compile' wrote, compiled with a local --pipeline-root")
    local.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                       help="a pipeline parameter for this run, e.g. train_epochs=5")
    local.add_argument("--mount", action="append", default=[], metavar="IMAGE_PATH=LOCAL_PATH",
                       help="a path inside the image and its copy here (the shipped schemas are mounted already)")
