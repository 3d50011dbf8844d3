package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/gputune/gputune/internal/config"
)

// TestManifestsACleanClusterAccepts checks what a cluster admin and the
// admission chain look at: Pod Security labels, seccomp, probes, a priority
// that never preempts, resources, the recommended labels, an image with a
// version, and a PodMonitor that kube-prometheus-stack's defaults select.
func TestManifestsACleanClusterAccepts(t *testing.T) {
	m := loadManifests(t)
	ds, ns, pc, pm, pr := m.daemonSets[0], m.namespaces[0], m.priorityClasses[0], m.podMonitors[0], m.rules[0]
	pod := ds.Spec.Template.Spec
	c := pod.Containers[0]

	t.Run("pod security admission", func(t *testing.T) {
		// SYS_ADMIN and hostPath are beyond baseline: without enforce=
		// privileged a baseline-enforcing cluster rejects the pod.
		if ns.Labels["pod-security.kubernetes.io/enforce"] != "privileged" {
			t.Errorf("namespace labels %v: want pod-security.kubernetes.io/enforce=privileged", ns.Labels)
		}
		if ps := pod.SecurityContext; ps == nil || ps.SeccompProfile == nil || ps.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("pod seccompProfile must be RuntimeDefault")
		}
		if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("container root filesystem must be read-only")
		}
	})

	t.Run("probes", func(t *testing.T) {
		for name, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
			if p == nil || p.HTTPGet == nil || p.HTTPGet.Port.StrVal != "metrics" {
				t.Errorf("%s probe must be an httpGet on the metrics port", name)
			}
		}
		if c.LivenessProbe != nil && c.LivenessProbe.HTTPGet != nil && c.LivenessProbe.HTTPGet.Path != "/-/healthy" {
			t.Errorf("liveness path %q, want /-/healthy", c.LivenessProbe.HTTPGet.Path)
		}
		if c.ReadinessProbe != nil && c.ReadinessProbe.HTTPGet != nil && c.ReadinessProbe.HTTPGet.Path != "/-/ready" {
			t.Errorf("readiness path %q, want /-/ready", c.ReadinessProbe.HTTPGet.Path)
		}
	})

	t.Run("a light priority that never preempts", func(t *testing.T) {
		if pod.PriorityClassName != pc.Name {
			t.Errorf("priorityClassName %q, want the shipped %q", pod.PriorityClassName, pc.Name)
		}
		if pc.Value >= 1_000_000_000 || pc.GlobalDefault {
			t.Errorf("priority %d (global default %v): an optional optimiser must stay below the system classes", pc.Value, pc.GlobalDefault)
		}
		if pc.PreemptionPolicy == nil || *pc.PreemptionPolicy != corev1.PreemptNever {
			t.Errorf("preemptionPolicy must be Never")
		}
	})

	t.Run("resources", func(t *testing.T) {
		for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage} {
			if _, ok := c.Resources.Requests[name]; !ok {
				t.Errorf("no %s request", name)
			}
		}
		for _, name := range []corev1.ResourceName{corev1.ResourceMemory, corev1.ResourceEphemeralStorage} {
			if _, ok := c.Resources.Limits[name]; !ok {
				t.Errorf("no %s limit", name)
			}
		}
	})

	t.Run("recommended labels", func(t *testing.T) {
		for _, key := range []string{"name", "instance", "version", "component", "part-of"} {
			if ds.Spec.Template.Labels["app.kubernetes.io/"+key] == "" || ds.Labels["app.kubernetes.io/"+key] == "" {
				t.Errorf("DaemonSet or its pods lack app.kubernetes.io/%s", key)
			}
		}
	})

	t.Run("a versioned image", func(t *testing.T) {
		_, tag, _ := strings.Cut(c.Image, ":")
		if !regexp.MustCompile(`^v\d+\.\d+\.\d+$`).MatchString(tag) {
			t.Errorf("image %q: want a vX.Y.Z tag, never latest", c.Image)
		}
		if v := ds.Spec.Template.Labels["app.kubernetes.io/version"]; v != tag {
			t.Errorf("app.kubernetes.io/version %q differs from the image tag %q", v, tag)
		}
	})

	t.Run("kube-prometheus-stack selects the PodMonitor and the rules", func(t *testing.T) {
		// Its Prometheus selects release=<Helm release name> by default.
		for kind, labels := range map[string]map[string]string{"PodMonitor": pm.Metadata.Labels, "PrometheusRule": pr.Metadata.Labels} {
			if labels["release"] == "" {
				t.Errorf("%s has no release label: kube-prometheus-stack's default selector would skip it", kind)
			}
		}
	})

	t.Run("decision logs fit their host path", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "tuner.toml")
		if err := os.WriteFile(path, []byte(m.configMaps[0].Data["tuner.toml"]), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, _, err := config.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		// Eight GPUs per node, each with its own rotated log.
		perNode := 8 * cfg.Log.DecisionFileMB * cfg.Log.DecisionFiles
		if cfg.Log.DecisionFileMB == 0 || cfg.Log.DecisionFiles == 0 || perNode > 2048 {
			t.Errorf("decision logs up to %d MiB per eight-GPU node (%d MB x %d files per GPU): bound them to 2 GiB",
				perNode, cfg.Log.DecisionFileMB, cfg.Log.DecisionFiles)
		}
		if q := c.Resources.Limits[corev1.ResourceEphemeralStorage]; q.Cmp(resource.MustParse("1Gi")) > 0 {
			t.Errorf("ephemeral-storage limit %s: nothing is written outside the host paths", q.String())
		}
	})
}
