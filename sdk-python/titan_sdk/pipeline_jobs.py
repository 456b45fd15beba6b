"""TitanJobs and validated pipelines → the DAG job requests the master takes (like src/sdk/pipeline-jobs.ts).

``client`` is the TitanClient doing the uploads: ``upload_file(path)``, ``upload_project_folder(folder)``
and its ``_projects`` (folders uploaded as ``<name>.zip``). Scripts are uploaded once per submission.
"""

import os

from .errors import E_INVALID_REQUEST, E_UNSAFE_PATH, TitanError
from .job import TitanJob


def _upload_once(client, path, uploads):
    key = os.path.abspath(path)
    if key not in uploads:
        uploads[key] = client.upload_file(path)
    return uploads[key]


def _bundle_once(client, folder, uploads):
    key = ("folder", os.path.abspath(folder))
    if key not in uploads:
        uploads[key] = client.upload_project_folder(folder)
    return uploads[key]


def titan_jobs_to_requests(jobs, dag_id, client):
    """DAG job requests for TitanJobs (dicts pass through as raw requests); dag_id when adding to a running DAG."""
    jobs = list(jobs)
    if not jobs:
        raise TitanError(E_INVALID_REQUEST, "a DAG needs at least one job")
    keys = {j.id if isinstance(j, TitanJob) else j.get("key") for j in jobs}
    uploads = {}
    out = []
    for job in jobs:
        if not isinstance(job, TitanJob):
            out.append(dict(job))
            continue
        request = job.dag_fields([parent_key(p, keys, dag_id) for p in job.parents])
        if job.command is not None:
            request["run"] = {"kind": "command", "command": job.command}
        elif job.archive:
            request["run"], request["bundle"] = _archive_run(client, job, uploads)
        else:
            artifact = _upload_once(client, job.filename, uploads)
            request["run"] = {"kind": "script", "fileName": os.path.basename(job.filename), "artifact": artifact}
        out.append(request)
    return out


def parent_key(parent, keys, dag_id):
    """A parent as its key in the DAG: ``DAG-<key>`` and ``<dagId>.<key>`` are accepted for the original SDK's scripts."""
    p = str(parent)
    if p in keys:
        return p
    if p.startswith("DAG-"):
        p = p[4:]
    if dag_id and p.startswith(f"{dag_id}."):
        p = p[len(dag_id) + 1:]
    return p


def _archive_run(client, job, uploads):
    """RUN_ARCHIVE: ``<project>.zip/<entry>`` runs entry inside the project folder, uploaded as the job's workspace."""
    spec = str(job.filename).replace("\\", "/")
    head, _, entry = spec.partition("/")
    if not entry:
        raise TitanError(E_INVALID_REQUEST, f"job {job.id}: an archive job's filename is <project>.zip/<entry script>, not {job.filename!r}")
    if os.path.isabs(spec) or ".." in entry.split("/"):
        raise TitanError(E_UNSAFE_PATH, f"job {job.id}: entry {entry!r} must be a path inside the project, without '..'")
    project = head[:-4] if head.endswith(".zip") else head
    folder = client._projects.get(head) or client._projects.get(project)
    if folder is None:
        folder = next((os.path.abspath(c) for c in (project, head) if os.path.isdir(c)), None)
    if folder is None:
        raise TitanError(
            E_INVALID_REQUEST,
            f"job {job.id}: project {head} is unknown: call upload_project_folder(<folder of {project}>) on this "
            f"client first, or run from the folder that contains {project}/",
        )
    script = os.path.join(folder, *entry.split("/"))
    if not os.path.isfile(script):
        raise TitanError(E_INVALID_REQUEST, f"job {job.id}: entry script {entry} not found in {folder}")
    bundle = _bundle_once(client, folder, uploads)
    return {"kind": "script", "fileName": entry, "artifact": _upload_once(client, script, uploads)}, bundle


def to_dag_jobs(pipeline, base_dir, client):
    """The DAG job requests of a validated pipeline: scripts uploaded once each, the folder with project: true.

    A ``type: service`` job gets ``service: {port}`` (its ``port``, or None for ``auto`` or none given).
    """
    uploaded = {}
    bundle = _bundle_once(client, base_dir, uploaded) if pipeline["project"] else None
    out = []
    for job in pipeline["jobs"]:
        if job["file"] is not None:
            rel = job["file"]
            if os.path.isabs(rel) or ".." in rel.replace("\\", "/").split("/"):
                raise TitanError(E_UNSAFE_PATH, f'job {job["id"]} (line {job["line"]}): file "{rel}" must be a path inside the pipeline\'s folder, without ".."')
            absolute = os.path.normpath(os.path.join(base_dir, rel))
            if absolute not in uploaded:
                if not os.path.isfile(absolute):
                    raise TitanError(E_INVALID_REQUEST, f'job {job["id"]} (line {job["line"]}): file {rel} not found next to the pipeline ({absolute})')
                _upload_once(client, absolute, uploaded)
            run = {"kind": "script", "fileName": os.path.relpath(absolute, base_dir).replace(os.sep, "/"), "artifact": uploaded[absolute]}
        else:
            run = {"kind": "command", "command": job["command"]}
        request = {
            "key": job["id"],
            "name": job["id"],
            "run": run,
            "args": list(job["args"]),
            "env": dict(job["env"]),
            "requirement": list(job["requirement"]),
            "priority": job["priority"],
            "retries": job["retries"],
            "timeoutSeconds": job["timeout"],
            "parents": [p for p, _ in job["parents"]],
            "triggerRule": job["trigger_rule"],
            "affinity": job["affinity"],
            "retryBackoff": dict(job["retry_backoff"]),
            "delaySeconds": job["delay"],
        }
        if job.get("run_at") is not None:
            request["runAt"] = job["run_at"]
        if job["on_failure"] is not None:
            request["onFailure"] = job["on_failure"][0]
        if job["approval"]:
            request["approval"] = dict(job["approval"])
        if job.get("hitl"):
            request["hitl"] = dict(job["hitl"])
        if bundle is not None:
            request["bundle"] = bundle
        if job.get("resources"):
            request["resources"] = dict(job["resources"])
        for key in ("driver", "network", "image"):
            if job.get(key) is not None:
                request[key] = job[key]
        if job["type"] == "service":
            # port: a number, or auto / absent → the worker picks a free one.
            request["service"] = {"port": job["port"] if isinstance(job["port"], int) else None}
        out.append(request)
    return out
