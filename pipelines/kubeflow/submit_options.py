"""What `coursepipe submit` is told before anything is compiled: the server, who the user is, and
when runs start. Light (no KFP), so a mistake here is answered before TensorFlow is imported.

Authentication, as a multi-user Kubeflow expects it: a bearer token, never typed on the command
line (it would land in the shell's history and in `ps`):
- `--token-file PATH`, read again before each request (a projected service-account token
  rotates);
- `KF_PIPELINES_SA_TOKEN_PATH`, the KFP SDK's own variable for such a file (what a notebook or
  pod in the cluster has);
- `COURSEPIPE_KFP_TOKEN`, a token in the environment (e.g. from `kubectl create token`).

Recurring runs use KFP's cron format, which robfig/cron v1 parses on the server: six fields,
seconds first (`0 0 2 * * *` is 02:00 daily), or a descriptor (`@daily`, `@every 6h`). A classic
five-field expression is also accepted by the server, read as seconds-first: `0 2 * * *` would
run at second 0 of minute 2 of every hour. So five fields are refused here.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

TOKEN_FILE_ENV = "KF_PIPELINES_SA_TOKEN_PATH"  # kfp.client.KF_PIPELINES_SA_TOKEN_ENV
TOKEN_ENV = "COURSEPIPE_KFP_TOKEN"
_DESCRIPTORS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_DURATION = re.compile(r"^(\d+)([smhd])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class SubmitOptionError(ValueError):
    """An option of `submit` that cannot be used: names it and what was expected."""


@dataclass(frozen=True)
class Connection:
    """Where the KFP API is and who calls it."""

    host: str
    namespace: str | None = None
    token_file: str | None = None
    token: str | None = None

    @classmethod
    def from_options(cls, host: str, namespace: str | None, token_file: str | None,
                     environ: dict[str, str] | os._Environ = os.environ) -> Connection:
        """The connection the options and the environment describe; `SubmitOptionError` for a
        token file that cannot be read."""
        if not host.startswith(("http://", "https://")):
            raise SubmitOptionError(f"--host: expected http://HOST[:PORT] or https://…, got {host!r}")
        source = "--token-file"
        if token_file is None and environ.get(TOKEN_FILE_ENV):
            token_file, source = environ[TOKEN_FILE_ENV], TOKEN_FILE_ENV
        if token_file is not None:
            try:
                with open(token_file, encoding="utf-8") as handle:
                    if not handle.read().strip():
                        raise SubmitOptionError(f"{source}: {token_file} is empty; expected a bearer token")
            except OSError as error:
                raise SubmitOptionError(f"{source}: cannot read {token_file} ({error.strerror}); expected a file "
                                        "holding a bearer token") from None
            return cls(host, namespace, token_file=token_file)
        return cls(host, namespace, token=environ.get(TOKEN_ENV) or None)


@dataclass(frozen=True)
class Schedule:
    """When a recurring run starts a run: a KFP cron expression or an interval."""

    cron: str | None = None
    interval_seconds: int | None = None

    def describe(self) -> str:
        return f"cron {self.cron!r}" if self.cron else f"every {self.interval_seconds} s"


def parse_schedule(cron: str | None, every: str | None) -> Schedule | None:
    """`--cron EXPR` or `--every DURATION` as a schedule; None for a one-off run."""
    if cron and every:
        raise SubmitOptionError("--cron and --every: give one schedule")
    if every is not None:
        match = _DURATION.match(every.strip())
        if not match or int(match.group(1)) < 1:
            raise SubmitOptionError(f"--every: expected a duration such as 30m, 6h or 1d, got {every!r}")
        return Schedule(interval_seconds=int(match.group(1)) * _SECONDS[match.group(2)])
    if cron is None:
        return None
    text = " ".join(cron.split())
    if text.startswith("@"):
        if text in _DESCRIPTORS or (text.startswith("@every ") and _go_duration(text[len("@every "):])):
            return Schedule(cron=text)
        raise SubmitOptionError(f"--cron: unknown descriptor {cron!r}; expected one of {', '.join(_DESCRIPTORS)} "
                                "or @every DURATION (e.g. @every 6h)")
    fields = text.split(" ")
    if len(fields) == 5:
        raise SubmitOptionError(
            f"--cron: {cron!r} has five fields; KFP's cron has six, seconds first (KFP would read this one as "
            f"second {fields[0]}, minute {fields[1]}, hour {fields[2]}, ...): for the classic meaning write "
            f"'0 {text}'")
    if len(fields) != 6:
        raise SubmitOptionError(f"--cron: expected six fields (second minute hour day-of-month month day-of-week), "
                                f"got {len(fields)} in {cron!r}")
    return Schedule(cron=text)


def _go_duration(text: str) -> bool:
    """A Go duration as `@every` takes it: 90s, 15m, 6h, 1h30m."""
    return bool(re.fullmatch(r"(\d+(\.\d+)?(h|m|s|ms))+", text))
