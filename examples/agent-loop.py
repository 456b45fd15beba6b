"""A self-healing agent loop with the Python SDK.

  PYTHONPATH=sdk-python python3 examples/agent-loop.py

Submits a flaky job that fails until a flag file exists, waits for it, and on failure reads its
logs, submits a "fix" job (which creates the flag) and retries, at most MAX_ATTEMPTS times.
Prints `healed after N attempts` when the job finally succeeds. Jobs and this script must share
a filesystem (true for `titan up`); the flag lives in a fresh temp dir.
"""
import os
import shutil
import sys
import tempfile

from titan_sdk import TitanClient, TitanJob

MAX_ATTEMPTS = 4
TIMEOUT = 60  # seconds per wait: every wait is bounded

scratch = tempfile.mkdtemp(prefix="titan-agent-loop-")
os.chmod(scratch, 0o1777)  # the jobs write here, and a root worker runs them as titan-job
flag = os.path.join(scratch, "fixed")
flaky = f"if [ -e {flag} ]; then echo 'all good'; else echo 'ERROR: flag {flag} missing' >&2; exit 1; fi"

client = TitanClient()
for attempt in range(1, MAX_ATTEMPTS + 1):
    job_id = client.submit_job(TitanJob(f"flaky-{attempt}", command=flaky))
    state = client.wait(job_id, timeout=TIMEOUT)["state"]
    print(f"attempt {attempt}: {state}")
    if state == "succeeded":
        print(f"healed after {attempt} attempts")
        client.close()
        shutil.rmtree(scratch, ignore_errors=True)
        sys.exit(0)
    logs = client.fetch_logs(job_id)
    print(f"  logs: {logs.strip()}")
    if "missing" in logs:
        fix_id = client.submit_job(TitanJob(f"fix-{attempt}", command=f"touch {flag} && echo created {flag}"))
        print(f"  fix job: {client.wait(fix_id, timeout=TIMEOUT)['state']}")
client.close()
shutil.rmtree(scratch, ignore_errors=True)
sys.exit(f"not healed after {MAX_ATTEMPTS} attempts")
