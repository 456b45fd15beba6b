"""Pipeline files (the original Titan YAML schema): validation, and translation to the master's DAG jobs.

Mirrors src/pipeline (the TypeScript reader): every problem is collected and reported at once,
each with its line; unknown keys get a "did you mean".
"""

import difflib
import re
import shlex
from datetime import datetime

from . import yaml_lite
from .errors import E_INVALID_REQUEST, TitanError
from .job import JOB_ID, TAG

TOP_LEVEL_KEYS = ("name", "version", "project", "jobs", "run_at")
JOB_KEYS = (
    "id", "type", "file", "command", "args", "env", "depends_on", "dependencies", "requirement", "priority",
    "delay", "run_at", "affinity", "port", "retries", "retry_backoff", "timeout", "trigger_rule", "approval", "on_failure",
    "resources", "driver", "network", "image", "hitl_message", "max_wait_seconds",
)
RESOURCES_KEYS = ("cpu", "memory", "gpu")
DRIVERS = ("process", "sandbox", "docker")
NETWORKS = ("host", "none")
RETRY_BACKOFF_KEYS = ("type", "delay", "max")
APPROVAL_KEYS = ("message", "timeout")
JOB_TYPES = ("run", "service")
TRIGGER_RULES = ("all_success", "all_done", "one_failed")
BACKOFF_TYPES = ("fixed", "exponential")
DEFAULT_BACKOFF = {"type": "fixed", "delaySeconds": 1, "maxSeconds": 300}


def _describe(node):
    if node is None or (node.kind == "scalar" and node.value is None):
        return "nothing"
    if node.kind == "seq":
        return "a list"
    if node.kind == "map":
        return "a map"
    v = node.value
    if isinstance(v, str):
        return repr(v if len(v) <= 40 else v[:40] + "…")
    return str(v).lower() if isinstance(v, bool) else str(v)


def _is_null(node):
    return node is None or (node.kind == "scalar" and node.value is None)


class _Reader:
    """Reads values off nodes; a misfit becomes a located problem and the read returns None."""

    def __init__(self):
        self.problems = []

    def report(self, node, message):
        line = node.line if node is not None else 1
        self.problems.append((line, node.column if node is not None else 1, message))

    def entries(self, node):
        out = []
        for key, value in node.value:
            if isinstance(key.value, str):
                out.append((key.value, key, value))
            else:
                self.report(key, f"key {_describe(key)} is not a name; keys must be plain strings")
        return out

    def check_keys(self, entries, allowed, where):
        for key, key_node, _ in entries:
            if key in allowed:
                continue
            guess = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            fix = f'did you mean "{guess[0]}"?' if guess else f"valid keys: {', '.join(allowed)}"
            self.report(key_node, f'unknown key "{key}" {where}; {fix}')

    def text(self, node, what, loose=False):
        if node is not None and node.kind == "scalar":
            v = node.value
            if isinstance(v, str):
                return v
            if loose and v is not None:
                return node.source if node.source else (str(v).lower() if isinstance(v, bool) else str(v))
        self.report(node, f"{what} must be a string, not {_describe(node)}")
        return None

    def number(self, node, what, integer=False, minimum=None, maximum=None):
        v = node.value if node is not None and node.kind == "scalar" else None
        kind = "a whole number" if integer else "a number"
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v or v in (float("inf"), float("-inf")):
            self.report(node, f"{what} must be {kind}, not {_describe(node)}")
            return None
        if integer and not isinstance(v, int):
            if not float(v).is_integer():
                self.report(node, f"{what} must be {kind}, not {v}")
                return None
            v = int(v)
        if (minimum is not None and v < minimum) or (maximum is not None and v > maximum):
            rng = f"{minimum} or more" if maximum is None else f"between {minimum} and {maximum}"
            self.report(node, f"{what} must be {rng}, not {v}")
            return None
        return v

    def boolean(self, node, what):
        if node is not None and node.kind == "scalar" and isinstance(node.value, bool):
            return node.value
        self.report(node, f"{what} must be true or false, not {_describe(node)}")
        return None

    def one_of(self, node, what, allowed):
        v = node.value if node is not None and node.kind == "scalar" else None
        if isinstance(v, str) and v in allowed:
            return v
        guess = difflib.get_close_matches(v, allowed, n=1, cutoff=0.5) if isinstance(v, str) else []
        hint = f'; did you mean "{guess[0]}"?' if guess else ""
        self.report(node, f"{what} must be one of {', '.join(allowed)}, not {_describe(node)}{hint}")
        return None

    def names(self, node, what):
        """[(name, node)] from one name or a list of names; numbers are taken as written."""
        if _is_null(node):
            return []
        if node.kind == "scalar":
            t = self.text(node, what, loose=True)
            return [] if t is None else [(t, node)]
        if node.kind != "seq":
            self.report(node, f"{what} must be a name or a list of names, not {_describe(node)}")
            return []
        out = []
        for i, item in enumerate(node.value):
            t = self.text(item, f"{what}[{i}]", loose=True)
            if t is not None:
                out.append((t, item))
        return out


def parse_pipeline(text, source=None, existing_ids=()):
    """The validated pipeline as a dict {name, version, project, jobs: [job dicts with 'line']}.

    Raises TitanError(E_INVALID_REQUEST) listing every problem as ``file:line: message``.
    existing_ids: job keys of a running DAG the jobs may depend on.
    """
    root = yaml_lite.parse(text, source)
    r = _Reader()
    pipeline = None
    if _is_null(root):
        r.report(root, "the file is empty; a pipeline needs at least name and jobs")
    elif root.kind != "map":
        r.report(root, f"a pipeline must be a map with name, version, project and jobs, not {_describe(root)}")
    else:
        pipeline = _read_root(r, root, set(existing_ids))
    if r.problems or pipeline is None:
        problems = sorted(r.problems)
        where = source or "pipeline"
        lines = "\n".join(f"{where}:{line}: {message}" for line, _col, message in problems)
        raise TitanError(E_INVALID_REQUEST, f"{len(problems)} problem(s) in the pipeline:\n{lines}")
    return pipeline


def _read_root(r, root, existing):
    entries = r.entries(root)
    r.check_keys(entries, TOP_LEVEL_KEYS, "at top level")
    fields = {k: v for k, _, v in entries}
    name = version = project = None
    if "name" not in fields:
        r.report(root, 'missing key "name"; add name: <pipeline name>')
    else:
        name = r.text(fields["name"], "name", loose=True)
    version = r.text(fields["version"], "version", loose=True) if "version" in fields else "1"
    project = r.boolean(fields["project"], "project") if "project" in fields else False
    jobs = []
    node = fields.get("jobs")
    if "jobs" not in fields:
        r.report(root, 'missing key "jobs"; add a list of jobs, each with an id and a file or command')
    elif _is_null(node) or (node.kind == "seq" and not node.value):
        r.report(node, "jobs is empty; add at least one job")
    elif node.kind != "seq":
        r.report(node, f'jobs must be a list (each item starting with "- "), not {_describe(node)}')
    else:
        for i, item in enumerate(node.value):
            job = _read_job(r, item, i)
            if job is not None:
                jobs.append(job)
        _check_graph(r, jobs, existing)
    # A pipeline's run_at holds every job that has none of its own.
    run_at = _read_instant(r, fields["run_at"], "run_at") if "run_at" in fields else None
    if run_at is not None:
        for job in jobs:
            if job["run_at"] is None:
                job["run_at"] = run_at
    if name is None or version is None or project is None:
        return None
    return {"name": name, "version": version, "project": project, "jobs": jobs}


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


def _read_instant(r, node, what):
    text = r.text(node, what)
    if text is None:
        return None
    try:
        return parse_instant(text, what)
    except TitanError as err:
        r.report(node, err.message)
        return None


def _read_job(r, item, index):
    if item.kind != "map":
        r.report(item, f"job #{index + 1} must be a map of keys (id, type, file, ...), not {_describe(item)}")
        return None
    entries = r.entries(item)
    fields = {k: (kn, v) for k, kn, v in entries}
    job_id = None
    if "id" not in fields:
        r.report(item, f"job #{index + 1} has no id; add id: <name>")
    else:
        job_id = r.text(fields["id"][1], f"job #{index + 1}: id", loose=True)
        if job_id is not None and not JOB_ID.match(job_id):
            r.report(fields["id"][1], f"job id {job_id!r} is invalid; use 1 to 128 letters, digits, \".\", \"_\" or \"-\"")
            job_id = None
    name = f'job "{job_id}"' if job_id is not None else f"job #{index + 1}"
    r.check_keys(entries, JOB_KEYS, f"in {name}")

    def field(key, read, fallback):
        if key not in fields:
            return fallback
        value = read(fields[key][1], f"{name}: {key}")
        return fallback if value is None else value

    def non_empty(node, what):
        t = r.text(node, what)
        if t is not None and t.strip() == "":
            r.report(node, f"{what} is empty")
            return None
        return t

    if "file" not in fields and "command" not in fields:
        r.report(item, f"{name} has neither file nor command; add file: <script path> or command: <shell command>")
    elif "file" in fields and "command" in fields:
        r.report(fields["command"][0], f"{name} has both file and command; keep only one")
    if "depends_on" in fields and "dependencies" in fields:
        r.report(fields["dependencies"][0], f"{name} has both depends_on and dependencies; merge them into depends_on")
    parents_key = "depends_on" if "depends_on" in fields else "dependencies"
    parents = r.names(fields[parents_key][1], f"{name}: {parents_key}") if parents_key in fields else []
    on_failure = field("on_failure", r.names, [])
    if len(on_failure) > 1:
        r.report(fields["on_failure"][1], f"{name}: on_failure names one job, not a list")
    if on_failure and on_failure[0][0] == job_id:
        r.report(on_failure[0][1], f"{name}: on_failure cannot name the job itself; name a separate recovery job")

    return {
        "id": job_id if job_id is not None else f"#{index + 1}",
        "has_id": job_id is not None,
        "type": field("type", lambda n, w: _read_type(r, n, w), "run"),
        "file": field("file", non_empty, None),
        "command": field("command", non_empty, None),
        "args": field("args", lambda n, w: _read_args(r, n, w), []),
        "env": field("env", lambda n, w: _read_env(r, n, w), {}),
        "parents": parents,
        "requirement": field("requirement", lambda n, w: _read_requirement(r, n, w), ["GENERAL"]),
        "priority": field("priority", lambda n, w: r.number(n, w, integer=True), 0),
        "delay": field("delay", lambda n, w: r.number(n, w, minimum=0), 0),
        "run_at": field("run_at", lambda n, w: _read_instant(r, n, w), None),
        "affinity": field("affinity", r.boolean, False),
        "port": field("port", lambda n, w: _read_port(r, n, w), None),
        "retries": field("retries", lambda n, w: r.number(n, w, integer=True, minimum=0), 0),
        "retry_backoff": field("retry_backoff", lambda n, w: _read_backoff(r, n, w), dict(DEFAULT_BACKOFF)),
        "timeout": field("timeout", lambda n, w: r.number(n, w, minimum=0), 0),
        "trigger_rule": field("trigger_rule", lambda n, w: r.one_of(n, w, TRIGGER_RULES), "all_success"),
        "approval": field("approval", lambda n, w: _read_approval(r, n, w, job_id or f"#{index + 1}"), None) or None,
        "hitl": _read_hitl(r, fields, name),
        "on_failure": on_failure[0] if on_failure else None,
        "resources": field("resources", lambda n, w: _read_resources(r, n, w), None),
        "driver": field("driver", lambda n, w: r.one_of(n, w, DRIVERS), None),
        "network": field("network", lambda n, w: r.one_of(n, w, NETWORKS), None),
        "image": field("image", non_empty, None),
        "line": item.line,
    }


def _read_type(r, node, what):
    """run or service, in any case: the original lower-cases type (SERVICE is a service)."""
    v = node.value if node is not None and node.kind == "scalar" else None
    if isinstance(v, str) and v.lower() in JOB_TYPES:
        return v.lower()
    r.report(node, f"{what} must be one of run, service (in any case), not {v!r}")
    return None


def _read_hitl(r, fields, name):
    """The original's hitl_message (an empty one asks for nothing) and max_wait_seconds (default 48 h)."""
    wait = 172800
    if "max_wait_seconds" in fields:
        wait = r.number(fields["max_wait_seconds"][1], f"{name}: max_wait_seconds", minimum=1, maximum=30 * 86400)
    if "hitl_message" not in fields:
        return None
    node = fields["hitl_message"][1]
    if node is None or (node.kind == "scalar" and node.value in (None, "")):
        return None
    message = r.text(node, f"{name}: hitl_message", loose=True)
    if message is None or wait is None or message.strip() == "":
        return None
    return {"message": message[:2000], "maxWaitSeconds": wait}


def _read_args(r, node, what):
    if node.kind == "scalar" and isinstance(node.value, str):
        try:
            return shlex.split(node.value)
        except ValueError as err:
            r.report(node, f"{what}: {err}; close the quote or give args as a list")
            return None
    if node.kind == "map":
        r.report(node, f"{what} must be a string or a list of strings, not a map")
        return None
    return [t for t, _ in r.names(node, what)]


def _read_env(r, node, what):
    if _is_null(node):
        return {}
    if node.kind != "map":
        r.report(node, f"{what} must be a map of NAME: value, not {_describe(node)}")
        return None
    env = {}
    for key, key_node, value in r.entries(node):
        if key == "" or "=" in key or "\0" in key:
            r.report(key_node, f'{what}: "{key}" is not a variable name (empty, or contains "=")')
            continue
        v = "" if _is_null(value) else r.text(value, f"{what}.{key}", loose=True)
        if v is not None:
            env[key] = v
    return env


def _read_requirement(r, node, what):
    tags = []
    for text, at in r.names(node, what):
        parts = [t.strip() for t in text.split(",")]
        if any(t == "" for t in parts):
            r.report(at, f'{what} has an empty tag in "{text}"; write e.g. requirement: "GPU,HIGH_MEM"')
        for t in parts:
            if t and not TAG.match(t):
                r.report(at, f'{what}: tag "{t}" must be letters, digits, "-" or "_"')
            elif t and t not in tags:
                tags.append(t)
    return tags or ["GENERAL"]


def _read_port(r, node, what):
    if _is_null(node):
        return None
    if node.kind == "scalar" and isinstance(node.value, str):
        if node.value == "auto":
            return "auto"
        r.report(node, f"{what} must be a port number (1-65535) or auto, not {_describe(node)}")
        return None
    return r.number(node, what, integer=True, minimum=1, maximum=65535)


def _read_backoff(r, node, what):
    if _is_null(node):
        return dict(DEFAULT_BACKOFF)
    if node.kind == "scalar" and isinstance(node.value, str):
        kind = r.one_of(node, f"{what} type", BACKOFF_TYPES)
        return None if kind is None else dict(DEFAULT_BACKOFF, type=kind)
    if node.kind != "map":
        r.report(node, f"{what} must be a map like {{ type: fixed, delay: 1, max: 300 }}, not {_describe(node)}")
        return None
    entries = r.entries(node)
    r.check_keys(entries, RETRY_BACKOFF_KEYS, f"in {what}")
    got = {k: v for k, _, v in entries}
    kind = r.one_of(got["type"], f"{what}.type", BACKOFF_TYPES) if "type" in got else DEFAULT_BACKOFF["type"]
    delay = r.number(got["delay"], f"{what}.delay", minimum=0) if "delay" in got else DEFAULT_BACKOFF["delaySeconds"]
    top = r.number(got["max"], f"{what}.max", minimum=0) if "max" in got else DEFAULT_BACKOFF["maxSeconds"]
    if kind is None or delay is None or top is None:
        return None
    return {"type": kind, "delaySeconds": delay, "maxSeconds": top}


def _read_resources(r, node, what):
    """resources: {cpu, memory, gpu}; memory stays as written (256M, 1.5G, or MiB) and the master reads the size."""
    if _is_null(node):
        return None
    if node.kind != "map":
        r.report(node, f"{what} must be a map like {{ cpu: 1, memory: 256M, gpu: 0 }}, not {_describe(node)}")
        return None
    entries = r.entries(node)
    r.check_keys(entries, RESOURCES_KEYS, f"in {what}")
    got = {k: v for k, _, v in entries}
    out = {}
    if "cpu" in got:
        out["cpu"] = r.number(got["cpu"], f"{what}.cpu", minimum=0)
    if "gpu" in got:
        out["gpu"] = r.number(got["gpu"], f"{what}.gpu", integer=True, minimum=0)
    if "memory" in got:
        memory = got["memory"]
        if memory.kind == "scalar" and isinstance(memory.value, (int, float, str)) and not isinstance(memory.value, bool):
            out["memory"] = memory.value
        else:
            r.report(memory, f"{what}.memory must be a size like 256M, not {_describe(memory)}")
            return None
    if any(v is None for v in out.values()):
        return None
    return out


def _read_approval(r, node, what, job_id):
    fallback = f'Approve job "{job_id}" to run?'
    if _is_null(node):
        return False
    if node.kind == "scalar" and isinstance(node.value, bool):
        return {"message": fallback, "timeoutSeconds": 0} if node.value else False
    if node.kind == "scalar" and isinstance(node.value, str):
        return {"message": node.value, "timeoutSeconds": 0}
    if node.kind != "map":
        r.report(node, f'{what} must be true, a message, or a map like {{ message: "...", timeout: 3600 }}, not {_describe(node)}')
        return None
    entries = r.entries(node)
    r.check_keys(entries, APPROVAL_KEYS, f"in {what}")
    got = {k: v for k, _, v in entries}
    message = r.text(got["message"], f"{what}.message") if "message" in got else fallback
    timeout = r.number(got["timeout"], f"{what}.timeout", minimum=0) if "timeout" in got else 0
    if message is None or timeout is None:
        return None
    return {"message": message, "timeoutSeconds": timeout}


def _check_graph(r, jobs, existing):
    ids = {}
    for job in jobs:
        if not job["has_id"]:
            continue
        if job["id"] in ids or job["id"] in existing:
            where = f"line {ids[job['id']]}" if job["id"] in ids else "the running DAG"
            r.problems.append((job["line"], 1, f'job id "{job["id"]}" is used twice (also at {where}); ids must be unique'))
        else:
            ids[job["id"]] = job["line"]
    known = set(ids) | existing
    for job in jobs:
        for parent, node in job["parents"]:
            if parent == job["id"]:
                r.report(node, f'job "{job["id"]}" depends on itself; remove it from depends_on')
            elif parent not in known:
                guess = difflib.get_close_matches(parent, sorted(known), n=1, cutoff=0.6)
                hint = f'; did you mean "{guess[0]}"?' if guess else ""
                r.report(node, f'job "{job["id"]}" depends on "{parent}", which is not a job of this pipeline{hint}')
        if job["on_failure"] is not None and job["on_failure"][0] not in ids:
            r.report(job["on_failure"][1], f'job "{job["id"]}": on_failure names "{job["on_failure"][0]}", which is not a job of this pipeline')
    cycle = _find_cycle({j["id"]: [p for p, _ in j["parents"] if p in ids] for j in jobs if j["has_id"]})
    if cycle:
        line = ids.get(cycle[0], 1)
        r.problems.append((line, 1, f"the jobs form a cycle: {' -> '.join(cycle)}; a DAG must have none"))


def _find_cycle(parents):
    state = {}
    for start in parents:
        if state.get(start):
            continue
        stack = [(start, iter(parents.get(start, ())))]
        path = [start]
        state[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                stack.append((nxt, iter(parents.get(nxt, ()))))
                path.append(nxt)
    return None
