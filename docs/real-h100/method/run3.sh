#!/bin/bash
# Read-only: where gputune's resident memory goes on a real GPU (dry run).
D=.devrun; export PYTHONUNBUFFERED=1
export LD_LIBRARY_PATH=/usr/local/nvidia/lib64:${LD_LIBRARY_PATH}
I=$OUT/info3.txt
python3 $D/server.py '[["conc16",45,16]]' /tmp/ph.json >/dev/null 2>&1 &
for i in $(seq 60); do curl -sf http://127.0.0.1:8000/metrics >/dev/null && break; sleep 1; done
mkdir -p /tmp/gt
GODEBUG=gctrace=1 $D/gputune-prof --dry-run --no-tui --duration 40s --data-dir /tmp/gt >/dev/null 2>$OUT/gctrace.txt &
GP=$!
sleep 35
{ cat /proc/$GP/status | grep -E "Vm|Rss"; cat /proc/$GP/smaps_rollup; echo "== top mappings by Rss";
  awk '/^[0-9a-f]+-[0-9a-f]+ /{name=$6} /^Rss:/{rss[name]+=$2} END{for(n in rss) print rss[n], n}' /proc/$GP/smaps | sort -rn | head -25; } >$I 2>&1
wait $GP; echo "gputune rc=$?" >>$I
