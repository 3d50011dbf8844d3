# Read-only NVML sampler (nvidia-ml-py): an independent record of what the
# GPU did while gputune ran in --dry-run, plus gputune's own CPU and memory.
import os, sys, time
import pynvml as N
out, secs, pidfile = sys.argv[1], float(sys.argv[2]), sys.argv[3]
N.nvmlInit(); h = N.nvmlDeviceGetHandleByIndex(0)
tick = os.sysconf("SC_CLK_TCK")
def proc(pid):
    try:
        st = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        cpu = (int(st[11]) + int(st[12])) / tick
        rss = next(int(l.split()[1]) for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS"))
        return cpu, rss
    except Exception:
        return "", ""
F = [N.NVML_FI_DEV_POWER_INSTANT, N.NVML_FI_DEV_POWER_AVERAGE, N.NVML_FI_DEV_MEMORY_TEMP]
with open(out, "w") as f:
    f.write("t_unix,energy_mj,power_usage_mw,power_instant_mw,power_avg_mw,temp_c,mem_temp_c,sm_mhz,mem_mhz,event_reasons,util_gpu,gputune_cpu_s,gputune_rss_kb\n")
    end = time.time() + secs
    while time.time() < end:
        t = time.time()
        try:
            e = N.nvmlDeviceGetTotalEnergyConsumption(h)
            pu = N.nvmlDeviceGetPowerUsage(h)
            fv = N.nvmlDeviceGetFieldValues(h, F)
            vals = []
            for v in fv:
                if v.nvmlReturn != 0:
                    vals.append("")
                elif v.valueType == N.NVML_VALUE_TYPE_UNSIGNED_INT:
                    vals.append(v.value.uiVal)
                elif v.valueType == N.NVML_VALUE_TYPE_SIGNED_INT:
                    vals.append(v.value.siVal)
                else:
                    vals.append(v.value.ullVal)
            tc = N.nvmlDeviceGetTemperature(h, N.NVML_TEMPERATURE_GPU)
            sm = N.nvmlDeviceGetClockInfo(h, N.NVML_CLOCK_SM)
            mm = N.nvmlDeviceGetClockInfo(h, N.NVML_CLOCK_MEM)
            er = getattr(N, "nvmlDeviceGetCurrentClocksEventReasons", None) or N.nvmlDeviceGetCurrentClocksThrottleReasons
            er = er(h)
            ut = N.nvmlDeviceGetUtilizationRates(h).gpu
        except Exception as ex:
            print("sample error", ex, file=sys.stderr); time.sleep(0.1); continue
        pid = open(pidfile).read().strip() if os.path.exists(pidfile) else ""
        cpu, rss = proc(pid) if pid else ("", "")
        f.write(f"{t:.4f},{e},{pu},{vals[0]},{vals[1]},{tc},{vals[2]},{sm},{mm},{er},{ut},{cpu},{rss}\n")
        time.sleep(max(0, 0.1 - (time.time() - t)))
