"""Stands in for a training step: reports where it ran (the worker's job dir names the worker)."""
import os

print(f"training on a GPU worker, job {os.environ['TITAN_JOB_ID']}")
print(f"workspace {os.environ['TITAN_WORKSPACE']}")
