"""TitanJob (the original SDK's job description) and the status names it reported."""

import os
import re
import shlex
from datetime import datetime

from .errors import E_INVALID_REQUEST, TitanError

JOB_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
TAG = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

RUN_TYPES = ("RUN_PAYLOAD", "RUN_ARCHIVE")
SERVICE_TYPES = ("DEPLOY_PAYLOAD", "START_ARCHIVE_SERVICE", "SERVICE")
ARCHIVE_TYPES = ("RUN_ARCHIVE", "START_ARCHIVE_SERVICE")
JOB_TYPES = RUN_TYPES + SERVICE_TYPES

#: Titan job states → the status names of the original SDK's get_job_status.
STATUS_NAMES = {
    "pending": "PENDING",
    "queued": "PENDING",
    "assigned": "RUNNING",
    "running": "RUNNING",
    "succeeded": "COMPLETED",
    "failed": "FAILED",
    "dead": "DEAD",
    "cancelled": "CANCELLED",
    "skipped": "CANCELLED",
    "stopped": "CANCELLED",
}

def status_name(state):
    """'succeeded' → 'COMPLETED' etc.; a state this SDK does not know is upper-cased."""
    return STATUS_NAMES.get(state, str(state).upper())


class TitanJob:
    """One job of a DAG, described as the original Titan SDK did.

    job_id: the job's key inside its DAG (letters, digits, ``.``, ``_``, ``-``); ``parents`` name other
    keys. filename: the local script to run (uploaded on submit; run by extension: .py python3,
    .sh bash, ...). With ``is_archive`` (or job_type RUN_ARCHIVE), filename is ``<project>.zip/<entry>``
    or ``<project>/<entry>``: the folder ``<project>`` (uploaded earlier by upload_project_folder, or
    found relative to the current directory) becomes the job's workspace and ``<entry>`` runs in it.
    args: a string (split like a shell would) or a list. delay: seconds before it may start.
    requirement: worker tags, e.g. "GPU" or "GPU,HIGH_MEM". hitl_message: as in the original SDK, once
    the job succeeds a gate ``hitl-gate-<job_id>`` waits for a human decision (TitanClient.approve /
    reject with the job's or the gate's id) before the job's dependants run; it fails after
    max_wait_seconds (default 48 h) without one.

    Services: job_type DEPLOY_PAYLOAD (a script) or START_ARCHIVE_SERVICE (an archive entry, like
    RUN_ARCHIVE) makes the job a service: its worker hands it ``PORT`` (``port``; 0, None or "auto":
    a free port the worker picks), keeps it running (restarted when it exits) until stop_service,
    and it counts as done for its children once it answers on that port. Its children get
    ``TITAN_SERVICE_<KEY>_URL`` and ``TITAN_SERVICE_<KEY>_PORT`` (KEY upper-cased, other characters
    as ``_``)::

        TitanJob("api", "server.py", job_type="DEPLOY_PAYLOAD")          # port picked by the worker
        TitanJob("client", "client.py", parents=["api"])                 # reads $TITAN_SERVICE_API_URL

    Beyond the original: ``command`` (a shell command instead of a file), ``env``, ``retries``,
    ``timeout`` (seconds, 0 = none), ``trigger_rule`` and ``on_failure`` as in pipeline files;
    ``resources`` (``{"cpu": 1, "memory": "256M", "gpu": 0}``: reserved on the worker and enforced
    there, a job over its memory ends with reason ``oom: ...``), ``driver`` (``process``,
    ``sandbox`` or ``docker``, run only by workers offering it) and ``run_at`` (a timezone-aware
    datetime, epoch seconds, or an ISO 8601 string with its zone): the job is not queued before then.
    """

    def __init__(self, job_id, filename=None, job_type="RUN_PAYLOAD", args=None, parents=None, port=0,
                 is_archive=False, priority=1, delay=0, affinity=False, requirement="GENERAL",
                 hitl_message=None, max_wait_seconds=172800, *, command=None, env=None, retries=0, timeout=0,
                 trigger_rule="all_success", on_failure=None, resources=None, driver=None, run_at=None):
        self.id = job_id
        self.filename = filename
        self.job_type = job_type
        self.args = args if args else ""
        self.parents = list(parents) if parents else []
        self.port = port
        self.is_archive = is_archive
        self.priority = priority
        self.delay = delay
        self.run_at = run_at
        self.affinity = affinity
        self.requirement = requirement
        self.hitl_message = hitl_message
        self.max_wait_seconds = max_wait_seconds
        self.command = command
        self.env = dict(env) if env else {}
        self.retries = retries
        self.timeout = timeout
        self.trigger_rule = trigger_rule
        self.on_failure = on_failure
        self.resources = dict(resources) if resources else None
        self.driver = driver
        if (filename is None) == (command is None):
            raise TitanError(E_INVALID_REQUEST, f"job {job_id}: give exactly one of filename and command")
        if filename is not None and not self.archive and not os.path.isfile(filename):
            # The original SDK read the file here and raised the same way.
            raise FileNotFoundError(f"File '{filename}' not found. Please provide the correct path.")

    @property
    def archive(self):
        return bool(self.is_archive) or self.job_type in ARCHIVE_TYPES

    @property
    def is_service(self):
        return self.job_type in SERVICE_TYPES

    def service_port(self):
        """The service's port for the master: a number, or None for one the worker picks (0, None, "auto")."""
        port = self.port
        if port is None or port == 0 or port == "auto":
            return None
        if isinstance(port, str) and port.strip().isdigit():
            port = int(port)
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise TitanError(E_INVALID_REQUEST, f"job {self.id}: port {self.port!r} must be 1-65535, or 0 / \"auto\" for a free port")
        return port

    def __repr__(self):
        what = f"command={self.command!r}" if self.command is not None else f"filename={self.filename!r}"
        return f"TitanJob({self.id!r}, {what}, job_type={self.job_type!r}, parents={self.parents!r})"

    # -- translation to the master's DAG job -------------------------------------------------

    def arg_list(self):
        if isinstance(self.args, (list, tuple)):
            return [str(a) for a in self.args]
        try:
            return shlex.split(str(self.args))
        except ValueError as err:
            raise TitanError(E_INVALID_REQUEST, f"job {self.id}: args {self.args!r}: {err}; close the quote or pass a list") from None

    def requirement_list(self):
        req = self.requirement
        parts = req if isinstance(req, (list, tuple)) else str(req or "GENERAL").split(",")
        tags = []
        for tag in (str(p).strip() for p in parts):
            if not tag:
                continue
            if not TAG.match(tag):
                raise TitanError(E_INVALID_REQUEST, f"job {self.id}: requirement tag {tag!r} must be letters, digits, '-' or '_'")
            if tag not in tags:
                tags.append(tag)
        return tags or ["GENERAL"]

    def dag_fields(self, parent_keys):
        """The DAG job request without its ``run`` and ``bundle`` (the client fills those in after uploading)."""
        if self.job_type not in JOB_TYPES:
            raise TitanError(E_INVALID_REQUEST, f"job {self.id}: unknown job_type {self.job_type!r}; use one of {', '.join(JOB_TYPES)}")
        if not isinstance(self.id, str) or not JOB_ID.match(self.id):
            raise TitanError(E_INVALID_REQUEST, f"job id {self.id!r} is invalid; use 1 to 128 letters, digits, '.', '_' or '-'")
        fields = {
            "key": self.id,
            "name": self.id,
            "args": self.arg_list(),
            "env": {str(k): str(v) for k, v in self.env.items()},
            "requirement": self.requirement_list(),
            "priority": int(self.priority),
            "retries": int(self.retries),
            "timeoutSeconds": self.timeout,
            "parents": parent_keys,
            "triggerRule": self.trigger_rule,
            "affinity": bool(self.affinity),
            "delaySeconds": self.delay or 0,
        }
        if self.run_at is not None:
            fields["runAt"] = run_at_ms(self.run_at)
        if self.on_failure:
            fields["onFailure"] = self.on_failure
        if self.hitl_message:
            # As the original SDK: a gate after the job (the master inserts hitl-gate-<key>), not before it.
            fields["hitl"] = {"message": str(self.hitl_message)[:2000], "maxWaitSeconds": self.max_wait_seconds}
        if self.is_service:
            fields["service"] = {"port": self.service_port()}
        if self.resources:
            fields["resources"] = {k: v for k, v in self.resources.items() if v is not None}
        if self.driver:
            fields["driver"] = self.driver
        return fields


def run_at_ms(value):
    """run_at as epoch milliseconds: an aware datetime, epoch seconds, or an ISO 8601 string with its zone."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TitanError(E_INVALID_REQUEST, "run_at is a datetime without a time zone; pass one with tzinfo (e.g. datetime.now(timezone.utc))")
        return int(value.timestamp() * 1000)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value * 1000)
    if isinstance(value, str):
        return parse_instant(value, "run_at")
    raise TitanError(E_INVALID_REQUEST, f"run_at must be a datetime, epoch seconds or an ISO 8601 string, not {type(value).__name__}")


_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)


def parse_instant(text, what):
    """An ISO 8601 time with its zone -> epoch milliseconds; a zone-less time is refused."""
    value = text.strip() if isinstance(text, str) else ""
    if _INSTANT.match(value):
        try:
            return int(datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00")).timestamp() * 1000)
        except ValueError:
            pass
    hint = " (add its zone: Z for UTC, or an offset like +01:00)" if re.match(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?$", value) else ""
    raise TitanError(E_INVALID_REQUEST, f'{what} must be an ISO 8601 time with a zone like 2026-12-01T08:00:00Z, got "{text}"{hint}')
