package cli

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gputune/gputune/internal/config"
)

// checkMetricsURLs refuses scrape.metrics_urls entries that no loop would
// read, since a silently ignored URL means a GPU tuned against another
// GPU's server: a GPU that --gpu does not select, or a group member other
// than the first (a group reads its first member's URL) with a URL of its
// own.
func checkMetricsURLs(sc config.Scrape, units [][]int) error {
	unitOf := map[int][]int{}
	for _, u := range units {
		for _, idx := range u {
			unitOf[idx] = u
		}
	}
	var errs []string
	for _, key := range slices.Sorted(maps.Keys(sc.MetricsURLs)) {
		idx, err := config.ParseGPUIndex(key)
		if err != nil {
			errs = append(errs, fmt.Sprintf("scrape.metrics_urls[%q]: %v", key, err))
			continue
		}
		unit, ok := unitOf[idx]
		switch {
		case !ok:
			errs = append(errs, fmt.Sprintf("scrape.metrics_urls[%q]: GPU %d is not selected by gpu.devices (--gpu); select it or remove the entry", key, idx))
		case unit[0] != idx && sc.MetricsURLs[key] != sc.MetricsURLFor(unit[0]):
			errs = append(errs, fmt.Sprintf("scrape.metrics_urls[%q]: GPU %d is in the group %v, which reads its first member's URL (%s); give the group's server under %q only",
				key, idx, unit, sc.MetricsURLFor(unit[0]), fmt.Sprint(unit[0])))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", config.ErrInvalid, strings.Join(errs, "; "))
}

// parseGPUMetricsURL splits a --gpu-metrics-url value, GPU=URL.
func parseGPUMetricsURL(v string) (key, url string, err error) {
	key, url, ok := strings.Cut(v, "=")
	if !ok {
		return "", "", fmt.Errorf("%q: want GPU=URL, e.g. 1=http://127.0.0.1:8001/metrics", v)
	}
	if _, err := config.ParseGPUIndex(key); err != nil {
		return "", "", fmt.Errorf("%q: %w", v, err)
	}
	return key, url, nil
}
