"""TitanJobs → the DAG job requests the master takes; pipeline files → PIPELINE_SUBMIT (the master parses them).

``client`` is the TitanClient doing the uploads: ``upload_file(path)``, ``upload_project_folder(folder)``
and its ``_projects`` (folders uploaded as ``<name>.zip``). Scripts are uploaded once per submission.
"""

import os

from .errors import E_INVALID_REQUEST, E_UNSAFE_PATH, TitanError
from .job import TitanJob
from .wire import Op


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


def send_pipeline(client, path, text, extra=None):
    """Sends a pipeline file's text to the master (PIPELINE_SUBMIT), which parses and checks it.

    Problems come back as TitanError(E_INVALID_REQUEST) listing each at ``file:line``. A pipeline
    naming scripts (or ``project: true``) is answered with what to upload: those are read from the
    file's folder, uploaded, and the request sent again with their hashes.
    """
    request = {"yaml": text, "source": path, **(extra or {})}
    answer = client._call(Op.PIPELINE_SUBMIT, request, idempotent=False)
    if "missing" not in answer:
        return answer
    request.update(_upload_missing(client, os.path.dirname(os.path.abspath(path)), answer["missing"]))
    answer = client._call(Op.PIPELINE_SUBMIT, request, idempotent=False)
    if "missing" in answer:
        raise TitanError(E_INVALID_REQUEST, f"the master still misses {answer['missing']} after they were uploaded; retry")
    return answer


def _upload_missing(client, base_dir, missing):
    files = {}
    for f in missing["files"]:
        absolute = os.path.normpath(os.path.join(base_dir, f["path"]))
        if not os.path.isfile(absolute):
            raise TitanError(E_INVALID_REQUEST, f'job {f["job"]} (line {f["line"]}): file {f["path"]} not found next to the pipeline ({absolute})')
        files[f["path"]] = client.upload_file(absolute)
    out = {"files": files}
    if missing["project"]:
        out["project"] = client.upload_project_folder(base_dir)
    return out
