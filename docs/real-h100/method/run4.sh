#!/bin/bash
# Read-only A/B of gputune's CPU: the build before and after encoding each
# decision once, side by side in --dry-run against the same server and GPU.
D=.devrun; export PYTHONUNBUFFERED=1
export LD_LIBRARY_PATH=/usr/local/nvidia/lib64:${LD_LIBRARY_PATH}
I=$OUT/info4.txt
python3 $D/server.py '[["idle",20,0],["conc16",75,16]]' /tmp/ph.json >/dev/null 2>&1 &
for i in $(seq 60); do curl -sf http://127.0.0.1:8000/metrics >/dev/null && break; sleep 1; done
for b in before after; do mkdir -p /tmp/gt-$b; $D/gputune-$b --dry-run --no-tui --duration 95s --data-dir /tmp/gt-$b >/tmp/$b.jsonl 2>/tmp/$b.err & echo $! >/tmp/$b.pid; done
cpu() { awk '{print $14+$15}' /proc/$1/stat; }
sleep 3; for b in before after; do echo "$b start $(cpu $(cat /tmp/$b.pid))" >>$I; done
sleep 85; for b in before after; do p=$(cat /tmp/$b.pid); echo "$b end $(cpu $p) ticks/s $(getconf CLK_TCK) rss $(grep VmRSS /proc/$p/status)" >>$I; done
wait
for b in before after; do echo "$b lines $(wc -l </tmp/$b.jsonl) modes $(grep -o '"mode":"[a-z]*"' /tmp/$b.jsonl | sort | uniq -c | tr '\n' ' ')" >>$I; tail -2 /tmp/$b.err >>$I; done
