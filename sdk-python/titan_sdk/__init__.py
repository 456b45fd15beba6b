"""Titan's Python SDK (standard library only): submit jobs, DAGs and pipeline files to a Titan master.

    from titan_sdk import TitanClient, TitanJob
    client = TitanClient()                      # TITAN_HOST / TITAN_PORT / TITAN_TOKEN, or the local master
    job_id = client.submit_job(TitanJob("hello", "hello.py"))
    print(client.wait(job_id)["state"], client.fetch_logs(job_id))
"""

from .client import TitanClient
from .errors import TitanError
from .job import TitanJob, status_name

#: Kept for scripts that catch it: the master now reads pipelines, and reports their problems as TitanError.
YamlError = TitanError

__all__ = ["TitanClient", "TitanJob", "TitanError", "YamlError", "status_name"]
__version__ = "0.1.0"
