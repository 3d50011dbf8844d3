// Package deploy holds gputune's deployment files (systemd, Kubernetes) and
// the tests that keep them loadable: every manifest decodes strictly into
// the official Kubernetes API types, so a misspelt field fails CI.
package deploy

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/gputune/gputune/internal/config"
	"github.com/gputune/gputune/internal/exporter"
)

// podMonitor mirrors the monitoring.coreos.com/v1 PodMonitor fields the
// manifest uses (a CRD: no Go type in k8s.io/api). Strict decoding rejects
// anything else, so a new field must be added here on purpose.
type podMonitor struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Metadata   objectMeta     `json:"metadata"`
	Spec       podMonitorSpec `json:"spec"`
}

type objectMeta struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	Labels    map[string]string `json:"labels,omitempty"`
}

type podMonitorSpec struct {
	Selector            labelSelector        `json:"selector"`
	PodMetricsEndpoints []podMetricsEndpoint `json:"podMetricsEndpoints"`
}

type labelSelector struct {
	MatchLabels map[string]string `json:"matchLabels"`
}

type podMetricsEndpoint struct {
	Port        string       `json:"port"`
	Path        string       `json:"path"`
	Interval    string       `json:"interval"`
	Relabelings []relabeling `json:"relabelings,omitempty"`
}

type relabeling struct {
	SourceLabels []string `json:"sourceLabels,omitempty"`
	TargetLabel  string   `json:"targetLabel,omitempty"`
}

// prometheusRule mirrors monitoring.coreos.com/v1 PrometheusRule; its
// groups are Prometheus rule-file groups (see rulesFile).
type prometheusRule struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   objectMeta `json:"metadata"`
	Spec       rulesFile  `json:"spec"`
}

// rulesFile is a Prometheus rule file, strictly: every field the rules use.
type rulesFile struct {
	Groups []ruleGroup `json:"groups"`
}

type ruleGroup struct {
	Name  string `json:"name"`
	Rules []rule `json:"rules"`
}

type rule struct {
	Alert       string            `json:"alert,omitempty"`
	Record      string            `json:"record,omitempty"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// manifests is every YAML document under kubernetes/, decoded strictly.
type manifests struct {
	daemonSets      []appsv1.DaemonSet
	services        []corev1.Service
	configMaps      []corev1.ConfigMap
	namespaces      []corev1.Namespace
	podMonitors     []podMonitor
	priorityClasses []schedulingv1.PriorityClass
	rules           []prometheusRule
}

func loadManifests(t *testing.T) manifests {
	t.Helper()
	files, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests under kubernetes/: %v", err)
	}
	var m manifests
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range splitDocuments(data) {
			if err := m.decode(doc); err != nil {
				t.Errorf("%s document %d: %v", file, i, err)
			}
		}
	}
	return m
}

func splitDocuments(data []byte) [][]byte {
	var docs [][]byte
	for _, d := range bytes.Split(data, []byte("\n---")) {
		if len(bytes.TrimSpace(stripComments(d))) > 0 {
			docs = append(docs, d)
		}
	}
	return docs
}

func stripComments(d []byte) []byte {
	var out [][]byte
	for _, line := range bytes.Split(d, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			out = append(out, line)
		}
	}
	return bytes.Join(out, []byte("\n"))
}

type unknownKindError struct{ apiVersion, kind string }

func (e unknownKindError) Error() string {
	return "no Go type for " + e.apiVersion + " " + e.kind + ": add one to the test before shipping it"
}

func (m *manifests) decode(doc []byte) error {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return err
	}
	switch head.APIVersion + " " + head.Kind {
	case "apps/v1 DaemonSet":
		return decodeInto(doc, &m.daemonSets)
	case "v1 Service":
		return decodeInto(doc, &m.services)
	case "v1 ConfigMap":
		return decodeInto(doc, &m.configMaps)
	case "v1 Namespace":
		return decodeInto(doc, &m.namespaces)
	case "monitoring.coreos.com/v1 PodMonitor":
		return decodeInto(doc, &m.podMonitors)
	case "scheduling.k8s.io/v1 PriorityClass":
		return decodeInto(doc, &m.priorityClasses)
	case "monitoring.coreos.com/v1 PrometheusRule":
		return decodeInto(doc, &m.rules)
	}
	return unknownKindError{head.APIVersion, head.Kind}
}

// decodeInto decodes doc into a new T, refusing unknown and duplicate
// fields and, unlike encoding/json, field names in the wrong case
// (runAsNonroot): the API server is case-sensitive, so the test must be.
func decodeInto[T any](doc []byte, into *[]T) error {
	data, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	var v T
	strictErrs, err := kjson.UnmarshalStrict(data, &v, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	if err := errors.Join(strictErrs...); err != nil {
		return err
	}
	*into = append(*into, v)
	return nil
}

func TestStrictDecodingCatchesTypos(t *testing.T) {
	var m manifests
	for _, doc := range []string{
		"apiVersion: apps/v1\nkind: DaemonSet\nspec:\n  template:\n    spec:\n      nodeSelecter: {a: b}\n",
		"apiVersion: v1\nkind: Service\nspec:\n  ports: [{name: metrics, port: '9400'}]\n",
		"apiVersion: monitoring.coreos.com/v1\nkind: PodMonitor\nspec:\n  podMetricEndpoints: []\n",
		"apiVersion: v1\nkind: Servise\n",
		"apiVersion: apps/v1\nkind: DaemonSet\nspec:\n  template:\n    spec:\n      hostpid: true\n",
		"apiVersion: v1\nkind: Namespace\nmetadata: {name: a, name: b}\n",
	} {
		if err := m.decode([]byte(doc)); err == nil {
			t.Errorf("decoded without error:\n%s", doc)
		}
	}
}

func TestKubernetesManifests(t *testing.T) {
	m := loadManifests(t)
	if len(m.daemonSets) != 1 || len(m.services) != 1 || len(m.podMonitors) != 1 || len(m.configMaps) != 1 {
		t.Fatalf("want one DaemonSet, Service, PodMonitor and ConfigMap; got %d, %d, %d, %d",
			len(m.daemonSets), len(m.services), len(m.podMonitors), len(m.configMaps))
	}
	ds, svc, pm := m.daemonSets[0], m.services[0], m.podMonitors[0]
	pod := ds.Spec.Template.Spec
	labels := ds.Spec.Template.Labels
	if !subset(ds.Spec.Selector.MatchLabels, labels) || !subset(svc.Spec.Selector, labels) ||
		!subset(pm.Spec.Selector.MatchLabels, labels) {
		t.Errorf("DaemonSet, Service and PodMonitor selectors must all select the pod labels %v", labels)
	}
	if len(m.priorityClasses) != 1 || len(m.rules) != 1 || len(m.namespaces) != 1 {
		t.Fatalf("want one PriorityClass, PrometheusRule and Namespace; got %d, %d, %d", len(m.priorityClasses), len(m.rules), len(m.namespaces))
	}
	for _, obj := range []string{ds.Namespace, svc.Namespace, pm.Metadata.Namespace, m.configMaps[0].Namespace, m.rules[0].Metadata.Namespace} {
		if obj != m.namespaces[0].Name {
			t.Errorf("object in namespace %q, want %q", obj, m.namespaces[0].Name)
		}
	}

	t.Run("GPU nodes only", func(t *testing.T) {
		if pod.NodeSelector["nvidia.com/gpu.present"] != "true" {
			t.Errorf("nodeSelector %v: want nvidia.com/gpu.present=true", pod.NodeSelector)
		}
		if !slices.ContainsFunc(pod.Tolerations, func(tl corev1.Toleration) bool {
			return tl.Key == "nvidia.com/gpu" && tl.Effect == corev1.TaintEffectNoSchedule
		}) {
			t.Errorf("no toleration for nvidia.com/gpu:NoSchedule")
		}
	})

	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	t.Run("exactly the privileges to set clocks", func(t *testing.T) {
		sc := c.SecurityContext
		if sc == nil || sc.RunAsUser == nil || *sc.RunAsUser != 0 {
			t.Fatalf("container must run as UID 0 (NVML's root check)")
		}
		if sc.Privileged != nil && *sc.Privileged {
			t.Errorf("privileged: true is more than clocks need")
		}
		if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Add, []corev1.Capability{"SYS_ADMIN"}) ||
			!slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
			t.Errorf("capabilities %+v: want add [SYS_ADMIN], drop [ALL]", sc.Capabilities)
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("allowPrivilegeEscalation must be false")
		}
		if pod.HostPID || pod.HostIPC || pod.HostNetwork {
			t.Errorf("no host namespaces are needed to set clocks")
		}
		for name := range c.Resources.Requests {
			if strings.HasPrefix(string(name), "nvidia.com/") {
				t.Errorf("requests %s: that takes a GPU away from the inference server", name)
			}
		}
		for name := range c.Resources.Limits {
			if strings.HasPrefix(string(name), "nvidia.com/") {
				t.Errorf("limits %s: that takes a GPU away from the inference server", name)
			}
		}
		if env(c, "NVIDIA_VISIBLE_DEVICES") != "all" || env(c, "NVIDIA_DRIVER_CAPABILITIES") != "utility" {
			t.Errorf("NVML needs NVIDIA_VISIBLE_DEVICES=all and NVIDIA_DRIVER_CAPABILITIES=utility")
		}
	})

	t.Run("clocks are given back on stop", func(t *testing.T) {
		if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Exec == nil ||
			!strings.Contains(strings.Join(c.Lifecycle.PreStop.Exec.Command, " "), "gputune reset --gpu all") {
			t.Errorf("preStop must run gputune reset --gpu all")
		}
		if g := pod.TerminationGracePeriodSeconds; g == nil || *g < 45 {
			t.Errorf("terminationGracePeriodSeconds %v: want at least 45 s (25 s preStop wait plus the restore)", g)
		}
	})

	t.Run("state and models on host paths", func(t *testing.T) {
		for _, dir := range []string{"/run/gputune", "/var/lib/gputune"} {
			vol := ""
			for _, v := range pod.Volumes {
				if v.HostPath != nil && v.HostPath.Path == dir {
					vol = v.Name
				}
			}
			if vol == "" || !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool {
				return m.Name == vol && m.MountPath == dir && !m.ReadOnly
			}) {
				t.Errorf("%s must be a host path mounted read-write at the same path", dir)
			}
		}
	})

	t.Run("headless with metrics on the pod IP", func(t *testing.T) {
		args := strings.Join(c.Args, " ")
		port := strconv.Itoa(exporter.DefaultPort)
		for _, want := range []string{"--no-tui", "--listen=$(POD_IP):" + port, "--config=/etc/gputune/tuner.toml"} {
			if !strings.Contains(args, want) {
				t.Errorf("args %q lack %s", args, want)
			}
		}
		if !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool {
			return p.Name == "metrics" && p.ContainerPort == exporter.DefaultPort
		}) {
			t.Errorf("no containerPort named metrics on %d", exporter.DefaultPort)
		}
		if svc.Spec.Ports[0].Port != exporter.DefaultPort {
			t.Errorf("Service port %d, want %d", svc.Spec.Ports[0].Port, exporter.DefaultPort)
		}
		if svc.Spec.Ports[0].TargetPort.StrVal != "metrics" || pm.Spec.PodMetricsEndpoints[0].Port != "metrics" {
			t.Errorf("Service and PodMonitor must target the port named metrics")
		}
		for _, name := range []string{"POD_IP", "HOST_IP", "NODE_NAME"} {
			if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == name && e.ValueFrom != nil }) {
				t.Errorf("env %s must come from the downward API", name)
			}
		}
	})

	t.Run("config map is a valid tuner.toml", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "tuner.toml")
		if err := os.WriteFile(path, []byte(m.configMaps[0].Data["tuner.toml"]), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, _, err := config.Load(path)
		if err != nil {
			t.Fatalf("tuner.toml in the ConfigMap: %v", err)
		}
		if cfg.GPU.RunDir != "/run/gputune" || cfg.Log.DataDir != "/var/lib/gputune" {
			t.Errorf("run_dir %q, data_dir %q: must be the host-path mounts", cfg.GPU.RunDir, cfg.Log.DataDir)
		}
	})
}

func env(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func subset(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}
