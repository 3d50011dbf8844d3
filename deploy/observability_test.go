package deploy

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/gputune/gputune/control"
	"github.com/gputune/gputune/internal/exporter"
	"github.com/gputune/gputune/internal/testkit"
)

const (
	rulesPath     = "prometheus/rules.yml"
	rulesTestPath = "prometheus/rules_test.yml"
	dashboardPath = "grafana/gputune-dashboard.json"
)

// dcgmMetrics are the dcgm-exporter series the dashboard may join with:
// fields of its default counter set (etc/default-counters.csv).
var dcgmMetrics = []string{"DCGM_FI_DEV_GPU_TEMP", "DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_SM_CLOCK", "DCGM_FI_DEV_GPU_UTIL"}

func loadRules(t *testing.T) rulesFile {
	t.Helper()
	data, err := os.ReadFile(rulesPath)
	if err != nil {
		t.Fatal(err)
	}
	var rf rulesFile
	if err := decodeStrict(data, &rf); err != nil {
		t.Fatalf("%s: %v", rulesPath, err)
	}
	return rf
}

func decodeStrict(doc []byte, v any) error {
	data, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strictErrs, err := kjson.UnmarshalStrict(data, v, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	if len(strictErrs) > 0 {
		return fmt.Errorf("%v", strictErrs)
	}
	return nil
}

// TestPrometheusRuleMatchesRulesFile: the operator's copy is the rule file.
func TestPrometheusRuleMatchesRulesFile(t *testing.T) {
	rf := loadRules(t)
	m := loadManifests(t)
	if len(m.rules) != 1 || !reflect.DeepEqual(m.rules[0].Spec, rf) {
		t.Errorf("kubernetes/prometheusrule.yaml differs from %s: copy its groups", rulesPath)
	}
	want := []string{"GputuneMetricsUnreachable", "GputuneSLOViolated", "GputuneClocksNotRestored"}
	for _, name := range want {
		if !slices.ContainsFunc(rf.Groups[0].Rules, func(r rule) bool { return r.Alert == name }) {
			t.Errorf("no alert %s", name)
		}
	}
}

// TestRulesWithPromtool: promtool check rules and the unit tests in
// rules_test.yml (each alert fires when it should and not before).
func TestRulesWithPromtool(t *testing.T) {
	promtool := testkit.RequireTool(t, "promtool", "apt-get install prometheus")
	for _, args := range [][]string{{"check", "rules", rulesPath}, {"test", "rules", rulesTestPath}} {
		out, err := exec.CommandContext(t.Context(), promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// servedMetrics is every metric name gputune's /metrics serves, read from a
// real scrape of an exporter fed a snapshot, with a run directory to count.
func servedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	e := exporter.New(exporter.Options{Hostname: "node-1", StaleStates: func() (int, error) { return 0, nil }})
	e.Observe(control.Snapshot{Time: time.Now(), GPU: 0, GPUUUID: "GPU-a", GPUName: "NVIDIA H100 80GB HBM3",
		Mode: control.ModeExploit, FreqMHz: 1410, SMClockMHz: 1410, MemClockMHz: 2619, PowerW: 400, EnergyJ: 120,
		TotalEnergyJ: 1200, Tokens: 100, TTFTLimitS: 2, TPOTLimitS: 0.25, TTFTTailS: 0.3, TPOTTailS: 0.04,
		Reward: 0.1, RewardValid: true, Alpha: 0.5})
	h, err := e.Handler()
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	served := map[string]bool{}
	for _, line := range strings.Split(string(body), "\n") {
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			served[strings.Fields(rest)[0]] = true
		}
	}
	if !served["gputune_power_watts"] || !served["gputune_build_info"] || !served["gputune_stale_state_files"] {
		t.Fatalf("scrape lacks gputune's own metrics:\n%s", body)
	}
	return served
}

var (
	quoted     = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	metricName = regexp.MustCompile(`\b(gputune_[a-z_]+|DCGM_[A-Z_]+|up)\b`)
)

// metricNames are the gputune_, DCGM_ and up names an expression reads
// (label values removed first, so a quoted "gputune_x" does not count).
func metricNames(expr string) []string {
	var out []string
	for _, m := range metricName.FindAllString(quoted.ReplaceAllString(expr, `""`), -1) {
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

type dashboard struct {
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	Title   string   `json:"title"`
	Panels  []panel  `json:"panels"`
	Targets []target `json:"targets"`
}

type target struct {
	Expr string `json:"expr"`
}

// dashboardExprs is every PromQL expression of the dashboard: panel
// targets (rows included) and template variable queries.
func dashboardExprs(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s: %v", dashboardPath, err)
	}
	exprs := map[string]string{}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for i, tg := range p.Targets {
				exprs[fmt.Sprintf("panel %q target %d", p.Title, i)] = tg.Expr
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if q, ok := v.Query.(map[string]any); ok {
			if s, ok := q["query"].(string); ok {
				exprs["variable "+v.Name] = s
			}
		}
	}
	return exprs
}

// TestDashboardAndRulesUseServedMetrics: every metric name in the
// dashboard's and the rules' PromQL is one gputune serves (or dcgm-exporter's
// for the joins, or up), and every expression parses.
func TestDashboardAndRulesUseServedMetrics(t *testing.T) {
	served := servedMetrics(t)
	exprs := dashboardExprs(t)
	if len(exprs) < 10 {
		t.Fatalf("only %d expressions found in %s", len(exprs), dashboardPath)
	}
	for _, r := range loadRules(t).Groups[0].Rules {
		exprs["rule "+r.Alert] = r.Expr
	}
	joins := 0
	for where, expr := range exprs {
		names := metricNames(expr)
		if len(names) == 0 {
			t.Errorf("%s: %q reads no gputune metric", where, expr)
		}
		for _, n := range names {
			switch {
			case strings.HasPrefix(n, "DCGM_"):
				joins++
				if !slices.Contains(dcgmMetrics, n) {
					t.Errorf("%s: %s is not in dcgm-exporter's default counters", where, n)
				}
				if !strings.Contains(expr, "on(UUID)") {
					t.Errorf("%s: a dcgm-exporter series must be joined on(UUID)", where)
				}
			case n == "up":
			case !served[n]:
				t.Errorf("%s: %s is not served by gputune's exporter", where, n)
			}
		}
	}
	if joins == 0 {
		t.Errorf("no panel joins dcgm-exporter on UUID")
	}
	checkPromQLSyntax(t, exprs)
}

// checkPromQLSyntax has promtool parse every expression, as recording
// rules with Grafana's variables filled in.
func checkPromQLSyntax(t *testing.T, exprs map[string]string) {
	promtool := testkit.RequireTool(t, "promtool", "apt-get install prometheus")
	fill := strings.NewReplacer("$__rate_interval", "5m", "$host", ".*", "$gpu", ".*")
	var rules []map[string]string
	for _, where := range sortedKeys(exprs) {
		expr := exprs[where]
		if strings.HasPrefix(expr, "label_values(") {
			// Grafana's, not PromQL: check the selector inside.
			expr = strings.TrimSuffix(strings.SplitN(strings.TrimPrefix(expr, "label_values("), ", ", 2)[0], ")")
			expr = strings.TrimSuffix(expr, ",")
		}
		rules = append(rules, map[string]string{"record": fmt.Sprintf("check:expr_%d", len(rules)), "expr": fill.Replace(expr)})
	}
	data, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": rules}}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "exprs.yml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.CommandContext(t.Context(), promtool, "check", "rules", path).CombinedOutput(); err != nil {
		t.Errorf("promtool rejects an expression: %v\n%s\n%s", err, out, data)
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func TestMetricNamesIgnoresLabelValues(t *testing.T) {
	got := metricNames(`rate(gputune_energy_joules_total{job="gputune_fake"}[5m]) / on(UUID) DCGM_FI_DEV_GPU_TEMP + up`)
	if want := []string{"gputune_energy_joules_total", "DCGM_FI_DEV_GPU_TEMP", "up"}; !slices.Equal(got, want) {
		t.Errorf("metricNames = %v, want %v", got, want)
	}
}
