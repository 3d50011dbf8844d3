# Fit a two-node thermal model to a real NVML trace (samples.csv from .devrun/sampler.py):
# T = Ta + Rs*lp(P, tau_s) + Rf*lp(P, tau_f). Pure Python (no numpy here).
import csv, sys, math
rows = list(csv.DictReader(open(sys.argv[1])))
t = [float(r['t_unix']) for r in rows]; t0 = t[0]; t = [x - t0 for x in t]
e = [float(r['energy_mj']) / 1000 for r in rows]
T = [float(r['temp_c']) for r in rows]
n = len(t)
# power from the energy counter over ~1 s spans (it steps every ~100 ms)
P = []
for i in range(n):
    a, b = max(0, i - 5), min(n - 1, i + 5)
    P.append((e[b] - e[a]) / (t[b] - t[a]))
def lp(x, tau):
    y = [x[0]]
    for i in range(1, n):
        a = 1 - math.exp(-(t[i] - t[i-1]) / tau)
        y.append(y[-1] + a * (x[i] - y[-1]))
    return y
def solve(A, b):
    m = len(b); M = [row[:] + [b[i]] for i, row in enumerate(A)]
    for i in range(m):
        p = max(range(i, m), key=lambda r: abs(M[r][i])); M[i], M[p] = M[p], M[i]
        for r in range(m):
            if r != i:
                f = M[r][i] / M[i][i]
                M[r] = [x - f * y for x, y in zip(M[r], M[i])]
    return [M[i][m] / M[i][i] for i in range(m)]
def lsq(cols, y):
    k = len(cols)
    A = [[sum(cols[i][s] * cols[j][s] for s in range(n)) for j in range(k)] for i in range(k)]
    b = [sum(cols[i][s] * y[s] for s in range(n)) for i in range(k)]
    c = solve(A, b)
    r = [y[s] - sum(c[i] * cols[i][s] for i in range(k)) for s in range(n)]
    return c, math.sqrt(sum(x * x for x in r) / n)
one = [1.0] * n
best = None
for ts in list(range(10, 120, 5))+[150,200,300]:
    ls = lp(P, ts)
    for tf in [0.05, 0.1, 0.2, 0.3, 0.5, 1, 2]:
        c, s = lsq([one, ls, lp(P, tf)], T)
        if best is None or s < best[0]:
            best = (s, ts, tf, c)
s, ts, tf, c = best
print(f"fit rms {s:.2f} C  tau_slow {ts} s  tau_fast {tf} s  Ta {c[0]:.1f} C  R_slow {c[1]:.4f} C/W  R_fast {c[2]:.4f} C/W  R_total {c[1]+c[2]:.4f}")
