"""Calls the api service of its DAG and prints the answer."""
import json
import os
import urllib.request

url = os.environ["TITAN_SERVICE_API_URL"] + "/add?a=20&b=22"
with urllib.request.urlopen(url, timeout=5) as response:
    answer = json.loads(response.read().decode())
print(f"service answered sum={answer['sum']}")
