#!/bin/bash
# Read-only: real-NVML reads and benchmarks, and a profiled --dry-run.
D=.devrun; export PYTHONUNBUFFERED=1
export LD_LIBRARY_PATH=/usr/local/nvidia/lib64:${LD_LIBRARY_PATH}
I=$OUT/info2.txt
{ nproc; GPUTUNE_REAL_NVML=0 timeout 90 $D/nvgpu.test -test.run RealNVML -test.bench RealNVML -test.benchtime 2s -test.v; echo "rc=$?"; } >$I 2>&1
SCHED='[["idle",25,0],["conc16",70,16],["idle",15,0]]'
python3 $D/server.py "$SCHED" $OUT/phases2.json >$OUT/server2.log 2>&1 &
SP=$!
python3 $D/sampler.py $OUT/samples2.csv 125 /tmp/gputune.pid 2>>$OUT/server2.log &
SA=$!
for i in $(seq 60); do curl -sf http://127.0.0.1:8000/metrics >/dev/null && break; sleep 1; done
echo "server up after ${i}s" >>$I
mkdir -p /tmp/gt
DEV_CPUPROFILE=$OUT/cpu.pprof DEV_CPUPROFILE_SECS=100 $D/gputune-prof --dry-run --no-tui --duration 105s --data-dir /tmp/gt >/tmp/dry.jsonl 2>>$I &
GP=$!; echo $GP >/tmp/gputune.pid
wait $GP; echo "gputune rc=$?" >>$I
wait $SP; echo "server rc=$?" >>$I
wait $SA
{ echo "== after"; nvidia-smi -q -d CLOCK,PERFORMANCE | sed -n 1,40p; } >>$I 2>&1
gzip -c /tmp/dry.jsonl >$OUT/dry2.jsonl.gz
