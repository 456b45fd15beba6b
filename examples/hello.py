import os, platform
print(f"hello from {platform.node()} — job {os.environ['TITAN_JOB_ID']}, attempt {os.environ['TITAN_ATTEMPT']}")
print(f"workspace: {os.environ['TITAN_WORKSPACE']}")
