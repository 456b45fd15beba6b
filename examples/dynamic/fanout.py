"""Dynamic fan-out: the first job decides the width, the agent grows the running DAG to match.

  PYTHONPATH=sdk-python python3 examples/dynamic/fanout.py [item ...]

1. submits a DAG of `plan` (prints WIDTH <n>) and `hold` (whose hitl_message adds an approval
   gate after it, which keeps the DAG running while the agent thinks);
2. waits for plan, reads WIDTH from its logs;
3. add_jobs: n mappers (children of plan) and a reducer over them, into the same DAG;
4. approves hold (its gate), waits for the DAG and prints the reducer's total.
"""
import os
import re
import sys

from titan_sdk import TitanClient, TitanJob

HERE = os.path.dirname(os.path.abspath(__file__))
MAPPER = os.path.join(HERE, "..", "mapreduce", "mapper.py")
REDUCER = os.path.join(HERE, "..", "mapreduce", "reducer.py")
TIMEOUT = 120  # seconds: every wait is bounded

items = sys.argv[1:] or ["alpha", "beta", "gamma", "delta", "epsilon"]
client = TitanClient()
dag_id = client.submit_dag("dynamic-fanout", [
    TitanJob("plan", os.path.join(HERE, "plan.py"), args=items),
    TitanJob("hold", command="echo fan-out added", hitl_message="fan-out added?"),
])
plan = client.wait(f"{dag_id}.plan", timeout=TIMEOUT)
if plan["state"] != "succeeded":
    sys.exit(f"plan ended {plan['state']}: {client.fetch_logs(f'{dag_id}.plan')}")
match = re.search(r"^WIDTH (\d+)$", client.fetch_logs(f"{dag_id}.plan"), re.M)
if match is None:
    sys.exit("plan printed no WIDTH line")
width = int(match.group(1))
print(f"plan decided width {width}")

mappers = [TitanJob(f"map-{i}", MAPPER, args=str(i), parents=["plan"]) for i in range(1, width + 1)]
reducer = TitanJob("reduce", REDUCER, parents=[m.id for m in mappers])
client.add_jobs(dag_id, mappers + [reducer])
client.approve(f"{dag_id}.hold", by="dynamic-fanout")

final = client.wait_dag(dag_id, timeout=TIMEOUT)
if final["dag"]["state"] != "succeeded":
    sys.exit(f"DAG {dag_id} ended {final['dag']['state']}")
ran = sorted(j["key"] for j in final["jobs"] if j["key"].startswith("map-"))
total = re.search(r"^TOTAL (\d+)$", client.fetch_logs(f"{dag_id}.reduce"), re.M)
print(f"dynamic width {len(ran)}: {' '.join(ran)}")
print(f"total {total.group(1) if total else '?'}")
client.close()
