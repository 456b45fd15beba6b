"""Titan's warm Python interpreter: a fork server written with the standard library only.

A worker starts one with `python3 -u fork_server.py [--preload mod1,mod2]` and talks to it over
its stdin (requests) and stdout (answers), one JSON object per line:

    worker -> server  {"op": "fork", "id": N}
    server -> worker  {"op": "forked", "id": N, "pid": P, "out": fd, "err": fd, "spec": fd}
    worker -> server  {"op": "release", "id": N}      (the worker opened the three pipes)
    server -> worker  {"op": "exit", "pid": P, "code": C, "signal": S}

For each job the server forks a child that becomes what a fresh `python3 -u script.py` would be,
then runs the script. The server never runs job code and never sees a job's arguments or
environment: the worker writes them to the child through its own pipe (opened by the worker as
/proc/<server>/fd/<spec>), so no job's secrets sit in the memory the next job is forked from.
"""
import sys

# What a fresh interpreter has imported by the time it runs a script: a job starts from this
# plus whatever --preload imported, never with the server's own modules.
_FRESH = set(sys.modules)


def _preload(names):
    """Imports each module; returns (kept module names, error or None, warnings)."""
    import_os = sys.modules["os"]
    warnings = []
    for name in names:
        tasks_before = len(import_os.listdir("/proc/self/task"))
        try:
            __import__(name)
        except BaseException as exc:  # noqa: BLE001 - reported to the worker, which refuses to start
            return None, "--python-preload %s: importing it failed: %s: %s" % (name, type(exc).__name__, exc), warnings
        threading = sys.modules.get("threading")
        if threading is not None and threading.active_count() > 1:
            started = ", ".join(sorted(t.name for t in threading.enumerate() if t is not threading.main_thread()))
            return None, (
                "--python-preload %s: importing it started Python threads (%s); a process with threads "
                "cannot be forked safely, so it must not be preloaded: leave it out of --python-preload "
                "and let jobs import it themselves" % (name, started)
            ), warnings
        tasks_after = len(import_os.listdir("/proc/self/task"))
        if tasks_after > tasks_before:
            warnings.append(
                "--python-preload %s: importing it started %d native thread(s); forked jobs get none of "
                "them, which is safe only for libraries that restart them after fork (OpenBLAS does)"
                % (name, tasks_after - tasks_before)
            )
    return set(sys.modules), None, warnings


def _preload_names(argv):
    if len(argv) >= 3 and argv[1] == "--preload":
        return [n.strip() for n in argv[2].split(",") if n.strip()]
    return []


_KEEP, _PRELOAD_ERROR, _PRELOAD_WARNINGS = _preload(_preload_names(sys.argv))

import gc  # noqa: E402
import json  # noqa: E402 - the server's own modules come after the snapshot of what jobs keep
import os  # noqa: E402
import select  # noqa: E402
import signal  # noqa: E402


def _send(message):
    data = (json.dumps(message) + "\n").encode()
    while data:
        data = data[os.write(1, data):]


class _Child:
    """What the forked process carries out of the server loop: its end of each pipe."""

    def __init__(self, out_w, err_w, spec_r):
        self.out_w, self.err_w, self.spec_r = out_w, err_w, spec_r


def _fork(job_id, held):
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    spec_r, spec_w = os.pipe()
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        # Its own session and process group first, so that the pid the worker hears of can be
        # signalled as a group (and killed with everything it will start) at once.
        os.setsid()
        os.close(ready_w)
        return _Child(out_w, err_w, spec_r)
    for fd in (out_w, err_w, spec_r, ready_w):
        os.close(fd)
    os.read(ready_r, 1)  # end of file once the child has its own group (or died)
    os.close(ready_r)
    held[job_id] = (out_r, err_r, spec_w)
    _send({"op": "forked", "id": job_id, "pid": pid, "out": out_r, "err": err_r, "spec": spec_w})
    return None


def _reap():
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if os.WIFSIGNALED(status):
            number = os.WTERMSIG(status)
            try:
                name = signal.Signals(number).name
            except ValueError:
                name = "SIG%d" % number
            _send({"op": "exit", "pid": pid, "code": None, "signal": name})
        else:
            _send({"op": "exit", "pid": pid, "code": os.waitstatus_to_exitcode(status), "signal": None})


def _serve():
    """Answers requests until the worker goes away; returns a _Child only in a forked child."""
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    os.set_blocking(wake_r, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    poller = select.poll()
    poller.register(0, select.POLLIN)
    poller.register(wake_r, select.POLLIN)
    held = {}
    pending = b""
    # Its environment and folder, so the worker can give each job what a launcher in between
    # (a version manager's shim) or the interpreter itself (C locale coercion) adds at a cold start.
    _send({"op": "ready", "pid": os.getpid(), "executable": sys.executable, "version": sys.version.split()[0],
           "warnings": _PRELOAD_WARNINGS, "environ": dict(os.environ), "cwd": os.getcwd()})
    while True:
        for fd, _ in poller.poll():
            if fd == wake_r:
                try:
                    while os.read(wake_r, 512):
                        pass
                except BlockingIOError:
                    pass
                _reap()
                continue
            data = os.read(0, 65536)
            if not data:
                return None
            pending += data
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                request = json.loads(line)
                if request["op"] == "fork":
                    child = _fork(request["id"], held)
                    if child is not None:
                        for fd_ in (wake_r, wake_w):
                            os.close(fd_)
                        return child
                elif request["op"] == "release":
                    for fd_ in held.pop(request["id"], ()):
                        os.close(fd_)


def _read_spec(fd):
    """The job's spec: a 10-digit length, then that many bytes of JSON."""
    data = b""
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        data += chunk
        if len(data) >= 10 and len(data) >= 10 + int(data[:10]):
            break
    if len(data) < 10 or len(data) < 10 + int(data[:10]):
        os._exit(125)  # the worker gave up on this fork: run nothing
    os.close(fd)
    return json.loads(data[10:10 + int(data[:10])])


def _become_job(child):
    """In the forked child: takes the job's streams, fences, identity and place, as a fresh start would."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(child.out_w, 1)
    os.dup2(child.err_w, 2)
    spec_fd = os.dup(child.spec_r)
    # Nothing of the server or of other jobs stays open: their pipes are not this job's business.
    os.closerange(3, spec_fd)
    os.closerange(spec_fd + 1, 1 << 20)
    spec = _read_spec(spec_fd)
    try:
        for procs in spec.get("cgroups", ()):
            with open(procs, "w") as f:
                f.write(str(os.getpid()))
        limits = spec.get("rlimits", {})
        if limits:
            import resource
            if "as" in limits:
                resource.setrlimit(resource.RLIMIT_AS, (limits["as"], limits["as"]))
            if "nproc" in limits:
                resource.setrlimit(resource.RLIMIT_NPROC, (limits["nproc"], limits["nproc"]))
        user = spec.get("user")
        if user is not None:
            os.setgroups([])
            os.setgid(user["gid"])
            os.setuid(user["uid"])
        os.chdir(spec["cwd"])
    except OSError as exc:
        os.write(2, ("titan: could not set up the job: %s\n" % exc).encode())
        os._exit(125)
    home = os.environ.get("HOME")
    os.environ.clear()
    os.environ.update(spec["env"])
    if os.environ.get("HOME") != home:
        _follow_home()
    return spec["argv"]


def _follow_home():
    """A job with another HOME (a root worker's job user) gets the user site folder a fresh start would give it."""
    import site
    previous = site.USER_SITE
    site.USER_BASE = None
    site.USER_SITE = None
    current = site.getusersitepackages()
    if previous in sys.path:
        sys.path.remove(previous)
    if site.ENABLE_USER_SITE and os.path.isdir(current):
        site.addsitedir(current)


def _run_script(argv):
    """Runs argv[0] as __main__ the way `python3 -u argv[0] argv[1:]` does; returns only on success."""
    for name in list(sys.modules):
        if name not in _KEEP:
            del sys.modules[name]
    # A fresh import seeds numpy's global generator from the OS; after a fork every job would draw
    # the same numbers from the server's (Python's own random module reseeds itself at fork).
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None:
        numpy_random.seed()
    script = argv[0]
    sys.argv = list(argv)
    sys.orig_argv = [sys.orig_argv[0], "-u"] + list(argv)
    sys.path[0] = os.path.dirname(os.path.realpath(script))
    # The attributes, and their order, of the __main__ a fresh interpreter runs a script in.
    main = type(sys)("__main__")
    main.__loader__ = sys.modules["_frozen_importlib_external"].SourceFileLoader("__main__", script)
    main.__annotations__ = {}
    main.__builtins__ = sys.modules["builtins"]
    main.__file__ = script
    main.__cached__ = None
    sys.modules["__main__"] = main
    try:
        with open(script, "rb") as f:
            source = f.read()
    except OSError as exc:
        os.write(2, ("%s: can't open file %r: [Errno %d] %s\n" % (sys.orig_argv[0], script, exc.errno, exc.strerror)).encode())
        sys.exit(2)
    try:
        code = compile(source, script, "exec", dont_inherit=True)
    except SyntaxError as exc:
        sys.excepthook(type(exc), exc, None)
        sys.exit(1)
    try:
        exec(code, main.__dict__)
    except SystemExit as exc:
        _exit_like_python(_system_exit_code(exc))
    except BaseException as exc:  # noqa: BLE001 - printed and turned into the exit a fresh interpreter has
        tb = exc.__traceback__
        while tb is not None and tb.tb_frame.f_code is not code:
            tb = tb.tb_next
        sys.excepthook(type(exc), exc.with_traceback(tb), tb)
        if isinstance(exc, KeyboardInterrupt):
            _exit_like_python(None)
        _exit_like_python(1)
    _exit_like_python(0)


def _system_exit_code(exc):
    """The status `python3` exits with for an uncaught SystemExit (a non-number is printed, then 1)."""
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        sys.stderr.write("%s\n" % (code,))
    except Exception:  # noqa: BLE001 - as the interpreter, ignore a failing stderr
        pass
    return 1


def _exit_like_python(code):
    """What the interpreter does on its way out that a script can see: non-daemon threads are
    waited for, atexit handlers run, stdout and stderr are flushed (120 if that fails). Then the
    process ends without tearing the interpreter down: freeing every object inherited from the
    server would write to (copy) all of its pages, the largest cost of a forked job. Python does
    not promise __del__ for objects alive at exit, and multiprocessing's children end this way.
    None: an uncaught KeyboardInterrupt, which ends killed by SIGINT as a fresh interpreter does."""
    threading = sys.modules.get("threading")
    if threading is not None:
        threading._shutdown()
    import atexit
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - the interpreter's own rule for a failing flush
            if code == 0:
                code = 120
    if code is None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
        code = 130
    os._exit(code)


def _main():
    if _PRELOAD_ERROR is not None:
        _send({"op": "failed", "error": _PRELOAD_ERROR})
        sys.exit(2)
    # Everything imported so far is shared with every child: the collector leaves it alone, so a
    # job's collections do not write to (copy) the pages it lives on.
    gc.freeze()
    child = _serve()
    if child is None:
        return
    _run_script(_become_job(child))


_main()
