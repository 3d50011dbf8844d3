#!/bin/bash
# Read-only real-GPU check: nothing here sets a clock, power limit or mode.
D=.devrun; export PYTHONUNBUFFERED=1
export LD_LIBRARY_PATH=/usr/local/nvidia/lib64:${LD_LIBRARY_PATH}
I=$OUT/info.txt
{ date -u; nvidia-smi; nvidia-smi -q -d CLOCK,PERFORMANCE; } >$I 2>&1
{ echo "== probe, no server"; timeout 60 ./gputune probe; echo "rc=$?"; } >>$I 2>&1
SCHED='[["idle",20,0],["conc16",150,16],["conc48",60,48],["idle",70,0]]'
python3 $D/server.py "$SCHED" $OUT/phases.json >$OUT/server.log 2>&1 &
SP=$!
python3 $D/sampler.py $OUT/samples.csv 320 /tmp/gputune.pid 2>>$OUT/server.log &
SA=$!
for i in $(seq 60); do curl -sf http://127.0.0.1:8000/metrics >/dev/null && break; sleep 1; done
echo "server up after ${i}s" >>$I
mkdir -p /tmp/gt
./gputune --dry-run --no-tui --duration 290s --data-dir /tmp/gt --log-level debug --listen 127.0.0.1:9400 >/tmp/dry.jsonl 2>$OUT/dryrun.err &
GP=$!; echo $GP >/tmp/gputune.pid
sleep 45
{ echo "== probe during load"; timeout 60 ./gputune probe; echo "rc=$?"; } >>$I 2>&1
timeout 60 ./gputune probe --json >$OUT/probe.json 2>>$I
curl -s http://127.0.0.1:9400/metrics >$OUT/exporter.txt
wait $GP; echo "gputune rc=$?" >>$I
wait $SP; echo "server rc=$?" >>$I
wait $SA
{ echo "== after"; nvidia-smi -q -d CLOCK,PERFORMANCE; ls -la /tmp/gt /tmp/gt/* ; } >>$I 2>&1
gzip -c /tmp/dry.jsonl >$OUT/dryrun.jsonl.gz
