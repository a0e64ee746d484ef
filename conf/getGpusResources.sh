#!/usr/bin/env bash
# Spark GPU discovery script (spark.{worker,executor,driver}.resource.gpu.discoveryScript): prints
# the GPUs of this machine as Spark's ResourceInformation JSON, e.g.
#   {"name": "gpu", "addresses": ["0", "1"]}
# With no nvidia-smi (no NVIDIA driver) it prints an empty address list and says why on stderr,
# so Spark reports "no gpu" clearly instead of failing to parse the script's output.
set -u
if ! command -v nvidia-smi >/dev/null 2>&1; then
  echo "getGpusResources.sh: nvidia-smi not found; reporting no GPUs" >&2
  echo '{"name": "gpu", "addresses": []}'
  exit 0
fi
if ! ids="$(nvidia-smi --query-gpu=index --format=csv,noheader 2>/dev/null)"; then
  echo "getGpusResources.sh: nvidia-smi failed; reporting no GPUs" >&2
  echo '{"name": "gpu", "addresses": []}'
  exit 0
fi
addresses=""
while IFS= read -r id; do
  id="${id//[[:space:]]/}"
  [ -n "$id" ] || continue
  addresses="${addresses:+$addresses, }\"$id\""
done <<< "$ids"
echo "{\"name\": \"gpu\", \"addresses\": [${addresses}]}"
