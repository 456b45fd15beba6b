"""Mapper: squares its number and writes it to the DAG's shared folder as part-<n>.txt."""
import os
import sys

n = int(sys.argv[1])
shared = os.environ.get("TITAN_SHARED_DIR", ".")
with open(os.path.join(shared, f"part-{n}.txt"), "w") as f:
    f.write(str(n * n))
print(f"mapped {n} -> {n * n}")
