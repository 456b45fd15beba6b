"""Reducer: sums every part-*.txt the mappers left in the DAG's shared folder."""
import glob
import os

shared = os.environ.get("TITAN_SHARED_DIR", ".")
parts = sorted(glob.glob(os.path.join(shared, "part-*.txt")))
total = 0
for path in parts:
    with open(path) as f:
        total += int(f.read())
print(f"reduced {len(parts)} parts")
print(f"TOTAL {total}")
