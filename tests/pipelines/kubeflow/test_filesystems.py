"""TensorFlow's `s3://` filesystem in a step and in the Beam worker processes the step starts.

A step with a CPU limit runs Beam's multi-processing workers, fresh Python processes; without
`load_filesystems_for` having told them to import tensorflow-io, a DoFn opening an `s3://` file
through TensorFlow fails there ("File system scheme 's3' not implemented"). The probe runs in a
process of its own (it changes the process's environment) against moto's S3 server on 127.0.0.1.
"""
from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = r"""
import os, sys
import apache_beam as beam
import boto3
from apache_beam.options.pipeline_options import PipelineOptions
from moto.server import ThreadedMotoServer

from pipelines.kubeflow.filesystems import load_filesystems_for


class Exists(beam.DoFn):
    def process(self, uri):
        import tensorflow as tf
        yield f"{uri} exists={tf.io.gfile.exists(uri)} worker={os.getpid() != int(os.environ['PROBE_PARENT'])}"


server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
host, port = server.get_host_and_port()
endpoint = f"http://{host}:{port}"
os.environ.update({"AWS_ACCESS_KEY_ID": "course", "AWS_SECRET_ACCESS_KEY": "course-secret", "AWS_REGION": "us-east-1",
                   "S3_ENDPOINT": endpoint, "AWS_ENDPOINT_URL": endpoint, "PROBE_PARENT": str(os.getpid())})
client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
client.create_bucket(Bucket="course-probe")
client.put_object(Bucket="course-probe", Key="examples/part-0", Body=b"x")
if sys.argv[1] == "load":
    load_filesystems_for("s3://course-probe/root")
out = os.path.join(sys.argv[2], "out")
with beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner", "--direct_running_mode=multi_processing",
                                            "--direct_num_workers=2"])) as pipeline:
    (pipeline | beam.Create(["s3://course-probe/examples/part-0"]) | beam.ParDo(Exists())
     | beam.io.WriteToText(out, shard_name_template=""))
print(open(out).read())
server.stop()
"""


def _probe(mode: str, tmp_path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PROBE, mode, str(tmp_path)], capture_output=True, text=True,
                          check=False, timeout=300)


def test_beam_multi_processing_workers_open_s3_files_through_tensorflow(tmp_path):
    probe = _probe("load", tmp_path)
    assert probe.returncode == 0, probe.stderr[-3000:]
    assert "s3://course-probe/examples/part-0 exists=True worker=True" in probe.stdout


@pytest.mark.slow
def test_without_the_worker_options_the_workers_have_no_s3_filesystem(tmp_path):
    """The failure the step's set-up prevents (a probe of Beam's behaviour, not of ours)."""
    probe = _probe("skip", tmp_path)
    assert probe.returncode != 0 and "File system scheme 's3' not implemented" in probe.stderr
