"""Decides how wide the fan-out is (here: one shard per item) and prints it as WIDTH <n>."""
import sys

items = sys.argv[1:] or ["a", "b", "c"]
print(f"planning {len(items)} shards")
print(f"WIDTH {len(items)}")
