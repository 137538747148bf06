#!/bin/sh
# Runs cluster_claim_oom (claims that run out of memory while reading their rows) against
# a cluster on a private PostgreSQL server.
# Usage: claim_oom.sh PROVOST CLUSTER_CLAIM_OOM
set -u
P=$1
. "$(dirname "$0")/lib.sh"
"$P" --cluster "$C" cluster init > /dev/null || { echo "FAIL: init"; exit 1; }
"$2" "$C"
