"""The step entrypoint of pipelines compiled for open-source KFP: its arguments and their errors.

Running real nodes is covered by the compiled iris runs (test_kfp_run_compiled_e2e.py)."""
from __future__ import annotations

import pytest

from pipelines.kubeflow import node_runner
from pipelines.kubeflow.node_runner import NodeArgumentError, typed_parameters


def test_run_parameters_take_the_type_of_their_compiled_default():
    declared = {"train_epochs": 500, "eval_lower_bound": 0.9, "note": "x"}
    given = [("train_epochs", "50"), ("eval_lower_bound", "0.75"), ("note", "y")]
    assert typed_parameters(declared, given) == {"train_epochs": 50, "eval_lower_bound": 0.75, "note": "y"}
    assert typed_parameters(declared, [("train_epochs", "60.0")]) == {"train_epochs": 60}  # KFP's numbers


@pytest.mark.parametrize("given, message", [
    (("train_epochs", "2.5"), "--parameter train_epochs: expected a whole number, got '2.5'"),
    (("eval_lower_bound", "high"), "--parameter eval_lower_bound: expected a number, got 'high'"),
    (("epochs", "5"), "--parameter epochs: this node has no such parameter; it has: eval_lower_bound, train_epochs"),
])
def test_a_parameter_the_node_cannot_use_is_named(given, message):
    with pytest.raises(NodeArgumentError, match=message):
        typed_parameters({"train_epochs": 500, "eval_lower_bound": 0.9}, [given])


@pytest.mark.parametrize("args, message", [
    (["--node-ir", "{}", "--run-id", "r", "--metadata", "http://x:1"], "--metadata: expected grpc://HOST:PORT"),
    (["--node-ir", "not json", "--run-id", "r", "--metadata", "sqlite:///tmp/m.sqlite"],
     "--node-ir: not a compiled TFX pipeline node"),
    (["--node-ir", "{}", "--run-id", "r", "--metadata", "sqlite:///tmp/m.sqlite"], "--node-ir: expected one node, got 0"),
    # What a KFP backend before 2.5.0 passes for KFP's run placeholder: every run would share it.
    (["--node-ir", "{}", "--run-id", "{{$.pipeline_job_uuid}}", "--metadata", "sqlite:///tmp/m.sqlite"],
     "--run-id: '{{$.pipeline_job_uuid}}' is a placeholder the KFP backend did not fill in"),
])
def test_arguments_the_step_cannot_use_exit_2_with_the_reason(args, message, capsys):
    assert node_runner.main(args) == 2
    assert message in capsys.readouterr().err
