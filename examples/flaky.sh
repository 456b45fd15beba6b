#!/bin/sh
# Fails on its first attempt, succeeds on the next: shows retries at work.
if [ "${TITAN_ATTEMPT:-1}" -lt 2 ]; then echo "attempt $TITAN_ATTEMPT: failing on purpose" >&2; exit 1; fi
echo "attempt $TITAN_ATTEMPT: fine now"
