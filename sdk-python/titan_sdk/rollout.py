"""Rolling redeploys of a named service (like src/sdk/rollout.ts), as a TitanClient method."""

import os
import re
import shlex
import time

from .errors import E_INVALID_REQUEST, E_TIMEOUT, E_UNKNOWN_JOB, TitanError
from .wire import Op

POLL_SECONDS = 0.1
FINAL_STATES = ("succeeded", "failed", "dead", "cancelled", "skipped", "stopped")


def replicas_of(services, name):
    """The running replicas of the service called name (``name``, or ``name-1``, ``name-2``, ...), in replica order."""
    numbered = re.compile(rf"^{re.escape(name)}-(\d+)$")

    def index(service):
        if service["name"] == name:
            return 0
        match = numbered.match(service["name"])
        return int(match.group(1)) if match else 0

    return sorted((s for s in services if s["name"] == name or numbered.match(s["name"])), key=index)


def _service_port(port):
    if port in (None, 0, "0", "auto"):
        return None
    if isinstance(port, int) and not isinstance(port, bool) and 1 <= port <= 65535:
        return port
    raise TitanError(E_INVALID_REQUEST, f"port must be 1-65535, or 0/None/'auto' for a free one the worker picks, not {port!r}")


class RolloutMixin:
    """Needs ``_call``, ``upload_file``, ``list_services``, ``status`` and ``stop_service`` from the class it is mixed into."""

    def redeploy(self, name, filepath=None, *, command=None, args=None, env=None, port=0, requirement="GENERAL",
                 replicas=None, ready_timeout=60.0, readiness_path=None, on_step=None):
        """Replaces the replicas of the service called name one at a time; returns ``{serviceIds, replaced}``.

        Each new replica (a script at filepath, or a shell command) is started, waited for until it
        passes its readiness check (a TCP connect on its port, or an HTTP GET of readiness_path),
        and only then is the old one it replaces stopped, so the service never has fewer ready
        replicas than before. With a fixed port the old replica is stopped first, to free the
        port. replicas: how many afterwards (default: as many as run now, at least 1; more than
        one are named ``name-1``, ``name-2``, ...). A replacement that is not ready within
        ready_timeout seconds is stopped and raises E_TIMEOUT, leaving the remaining old replicas
        running. With no replica running yet it simply deploys one. on_step(message) is told of
        each step::

            client.redeploy("api", "server_v2.py", on_step=print)
        """
        if (filepath is None) == (command is None):
            raise TitanError(E_INVALID_REQUEST, "redeploy needs a script filepath or a command=, not both and not neither")
        fixed = _service_port(port)
        old = replicas_of(self.list_services(), name)
        count = replicas if replicas is not None else max(1, len(old))
        if not isinstance(count, int) or count < 1:
            raise TitanError(E_INVALID_REQUEST, f"replicas must be a whole number of at least 1, not {replicas!r}")
        if fixed is not None and count > 1:
            raise TitanError(E_INVALID_REQUEST, "several replicas cannot share one fixed port on a worker; use port=0 (a free port each)")
        base = self._service_request(filepath, command, args, env, fixed, requirement, readiness_path)
        say = on_step or (lambda _message: None)
        service_ids, replaced = [], []
        for i in range(max(count, len(old))):
            previous = old[i] if i < len(old) else None
            if i >= count:
                say(f"stopping {previous['name']} ({previous['id']}): fewer replicas now")
                self._stop_replica(previous, replaced)
                continue
            replica = f"{name}-{i + 1}" if count > 1 else name
            if fixed is not None and previous is not None:
                say(f"stopping {previous['name']} ({previous['id']}) to free its port")
                self._stop_replica(previous, replaced)
            job_id = self._call(Op.JOB_SUBMIT, dict(base, name=replica), idempotent=False)["jobId"]
            say(f"started {replica} ({job_id}); waiting until it is ready")
            self._wait_ready(job_id, replica, ready_timeout)
            service_ids.append(job_id)
            if fixed is None and previous is not None:
                say(f"{replica} is ready; stopping {previous['name']} ({previous['id']})")
                self._stop_replica(previous, replaced)
        return {"serviceIds": service_ids, "replaced": replaced}

    def _service_request(self, filepath, command, args, env, port, requirement, readiness_path):
        if command is not None:
            run = {"kind": "command", "command": str(command)}
        else:
            path = os.fspath(filepath)
            run = {"kind": "script", "fileName": os.path.basename(path), "artifact": self.upload_file(path)}
        service = {"port": port}
        if readiness_path is not None:
            service["readinessPath"] = str(readiness_path)
        words = shlex.split(args) if isinstance(args, str) else [str(a) for a in (args or [])]
        tags = [t.strip() for t in str(requirement or "GENERAL").split(",") if t.strip()]
        return {"run": run, "args": words, "env": dict(env or {}), "requirement": tags, "service": service}

    def _wait_ready(self, job_id, name, timeout):
        deadline = time.monotonic() + timeout
        while True:
            service = next((s for s in self.list_services() if s["id"] == job_id), None)
            if service is not None and service.get("ready"):
                return
            if service is None:
                job = self.status(job_id)
                if job["state"] in FINAL_STATES:
                    raise TitanError(E_INVALID_REQUEST, f"new replica {name} ({job_id}) ended {job['state']} before it was ready: "
                                     f"{job.get('reason') or 'see its logs'}; the old replicas keep running (titan logs {job_id})")
            if time.monotonic() >= deadline:
                try:
                    self.stop_service(job_id)
                except TitanError:
                    pass
                raise TitanError(E_TIMEOUT, f"new replica {name} ({job_id}) was not ready within {timeout:g} s, so it was stopped; "
                                 f"the old replicas keep running (titan logs {job_id})")
            time.sleep(POLL_SECONDS)

    def _stop_replica(self, service, replaced):
        try:
            self.stop_service(service["id"])
        except TitanError as err:
            if err.code != E_UNKNOWN_JOB:  # already gone: nothing left to replace
                raise
        replaced.append(service["id"])
