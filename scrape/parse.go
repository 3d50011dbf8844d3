package scrape

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gputune/gputune/internal/printable"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Errors that callers match with errors.Is.
var (
	// ErrMalformed: the body is not a valid Prometheus text exposition.
	ErrMalformed = errors.New("malformed Prometheus exposition")
	// ErrUnknownServer: the exposition holds no vLLM, SGLang or TGI
	// families (wrong URL, or metrics disabled on the server).
	ErrUnknownServer = errors.New("no vLLM, SGLang or TGI metrics found " +
		"(is this the server's /metrics? vLLM needs stats logging on, SGLang needs --enable-metrics)")
	// ErrOverBudget: the exposition is larger, has more series or more
	// distinct histogram bounds than any real server's, or its parse ran
	// past the scrape's deadline. The loop treats it as a failed scrape.
	ErrOverBudget = errors.New("exposition over the parser's bounds")
)

// Bounds on one exposition. A real vLLM exposition is about 100 KB with a
// few thousand series and 10–40 bucket bounds per histogram; these leave
// two orders of magnitude of room and stop a hostile or broken server from
// stalling the loop. Time is bounded by the caller's context.
const (
	MaxExpositionBytes = 32 << 20
	MaxSeries          = 500_000
	MaxBucketBounds    = 4096
)

// Parser turns exposition bytes into a Sample. It reuses its buffers, so it
// is not safe for concurrent use; make one per goroutine.
type Parser struct {
	tables   []flavorTable
	keep     map[string]struct{}
	filtered []byte
	reader   bytes.Reader
	rawModel string // the last served model name seen, as served
	model    string // the same, printable
}

// maxModelName bounds the served model name kept and shown.
const maxModelName = 256

// overBudget is ctx's error as an over-budget parse, nil while ctx is live.
func overBudget(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: parsing ran past the scrape deadline: %w", ErrOverBudget, err)
	}
	return nil
}

// ctxReader stops expfmt's read (and so its parse) once ctx is done:
// expfmt reads through a 4 KiB buffer, so the check runs every 4 KiB.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// ParserOption configures NewParser.
type ParserOption func(*parserConfig)

type parserConfig struct{ allBuckets, tpotBuckets bool }

// WithAllBuckets keeps the buckets of every histogram. By default the E2E,
// tokens-per-step and per-request TPOT histograms keep only their sum and
// count (their window statistics are means), which spares expfmt a third
// of a vLLM exposition's lines; the TTFT and inter-token histograms keep
// their buckets for the sliding tails.
func WithAllBuckets() ParserOption { return func(c *parserConfig) { c.allBuckets = true } }

// WithTPOTBuckets keeps the per-request TPOT histogram's buckets too, for a
// loop whose SLO counts per-request TPOT (slo.tpot_signal = per-request).
func WithTPOTBuckets() ParserOption { return func(c *parserConfig) { c.tpotBuckets = true } }

// needsBuckets says whether a histogram's buckets are kept: those behind
// the sliding latency tails and MaxTTFTUpper/Lower.
func (c parserConfig) needsBuckets(sig Signal) bool {
	return c.allBuckets || sig == SigTTFT || sig == SigITL || (sig == SigTPOT && c.tpotBuckets)
}

// NewParser returns a Parser loaded with the mapping tables.
func NewParser(opts ...ParserOption) *Parser {
	var cfg parserConfig
	for _, o := range opts {
		o(&cfg)
	}
	p := &Parser{tables: mappingTables(), keep: make(map[string]struct{})}
	for _, t := range p.tables {
		for sig, cands := range t.signals {
			for _, c := range cands {
				p.keep[c.family] = struct{}{}
				if c.kind == kindScalar {
					continue
				}
				p.keep[c.family+"_sum"] = struct{}{}
				p.keep[c.family+"_count"] = struct{}{}
				if c.kind == kindHistogram && cfg.needsBuckets(Signal(sig)) {
					p.keep[c.family+"_bucket"] = struct{}{}
				}
			}
		}
	}
	return p
}

// ParseExposition parses one exposition with a fresh Parser; at stamps the
// sample. Loops that parse repeatedly should keep a Parser instead.
func ParseExposition(b []byte, at time.Time) (Sample, error) {
	return NewParser().Parse(b, at)
}

// Parse reduces one text exposition to a Sample stamped at.
func (p *Parser) Parse(b []byte, at time.Time) (Sample, error) {
	return p.ParseContext(context.Background(), b, at)
}

// ParseContext is Parse bounded in time by ctx (the scrape's deadline,
// shared with the fetch) and in size by MaxExpositionBytes, MaxSeries and
// MaxBucketBounds; past any bound it returns an error wrapping
// ErrOverBudget (and ctx's error when the deadline passed).
func (p *Parser) ParseContext(ctx context.Context, b []byte, at time.Time) (Sample, error) {
	s := Sample{At: at, Flavor: FlavorUnknown}
	if len(b) > MaxExpositionBytes {
		return s, fmt.Errorf("%w: %d bytes, at most %d", ErrOverBudget, len(b), MaxExpositionBytes)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return s, fmt.Errorf("%w: the body is empty", ErrUnknownServer)
	}
	var seen seenFamilies
	var served []byte
	var err error
	p.filtered, seen, served, err = prefilter(ctx, p.filtered[:0], b, p.keep)
	if err != nil {
		return s, err
	}
	if string(served) != p.rawModel {
		// Allocate only when it changes. The name is the server's: it
		// reaches the terminal and the logs only as printable text.
		p.rawModel = string(served)
		p.model = printable.String(p.rawModel, maxModelName)
	}
	s.Model = p.model
	p.reader.Reset(p.filtered)
	tp := expfmt.NewTextParser(model.UTF8Validation)
	families, err := tp.TextToMetricFamilies(ctxReader{ctx: ctx, r: &p.reader})
	if err := overBudget(ctx); err != nil {
		return s, err
	}
	if err != nil {
		return s, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	s.Flavor = seen.flavor()
	if s.Flavor == FlavorUnknown {
		return s, ErrUnknownServer
	}
	table := p.table(s.Flavor)
	for sig := Signal(0); int(sig) < allSignals; sig++ {
		for _, c := range table.signals[sig] {
			fam, ok := families[c.family]
			if !ok || len(fam.GetMetric()) == 0 {
				continue
			}
			ok, err := fill(ctx, &s, sig, fam, c.kind, table.replicaLabels)
			if err != nil {
				return s, fmt.Errorf("%s: %w", c.family, err)
			}
			if ok {
				s.Present = s.Present.With(sig)
				s.Series[sig] = seriesName(c)
				break
			}
		}
	}
	return s, nil
}

func seriesName(c candidate) string {
	switch c.kind {
	case kindHistSum:
		return c.family + "_sum"
	case kindHistCount:
		return c.family + "_count"
	}
	return c.family
}

func (p *Parser) table(f Flavor) *flavorTable {
	for i := range p.tables {
		if p.tables[i].flavor == f {
			return &p.tables[i]
		}
	}
	return &flavorTable{flavor: f}
}

// fill stores one signal from fam into s; false when fam has no usable
// series of the right type.
func fill(ctx context.Context, s *Sample, sig Signal, fam *dto.MetricFamily, kind valueKind, replica []string) (bool, error) {
	if kind == kindScalar {
		v, ok := scalarOf(fam, replica, sig == SigKVUsage)
		dst := scalarField(s, sig)
		if !ok || dst == nil {
			return false, nil
		}
		*dst = v
		return true, nil
	}
	if fam.GetType() != dto.MetricType_HISTOGRAM {
		return false, nil
	}
	h, ok, err := histogramOf(ctx, fam, replica)
	if !ok || err != nil {
		return false, err
	}
	if kind == kindHistogram {
		dst := histField(s, sig)
		if dst == nil {
			return false, nil
		}
		*dst = h
		return true, nil
	}
	dst := scalarField(s, sig)
	if dst == nil {
		return false, nil
	}
	*dst = h.Count
	if kind == kindHistSum {
		if math.IsNaN(h.Sum) {
			return false, nil
		}
		*dst = h.Sum
	}
	return true, nil
}

func scalarField(s *Sample, sig Signal) *float64 {
	switch sig {
	case SigRunning:
		return &s.Running
	case SigWaiting:
		return &s.Waiting
	case SigKVUsage:
		return &s.KVUsage
	case SigPromptTokens:
		return &s.PromptTokens
	case SigGenTokens:
		return &s.GenTokens
	case SigPrefixHits:
		return &s.PrefixHits
	case SigPrefixQueries:
		return &s.PrefixQueries
	case SigFinished:
		return &s.Finished
	case SigPreemptions:
		return &s.Preemptions
	case SigSwapped:
		return &s.Swapped
	}
	return nil // a mapping-table bug; TestMappingTablesAreConsistent catches it
}

func histField(s *Sample, sig Signal) *Histogram {
	switch sig {
	case SigTTFT:
		return &s.TTFT
	case SigITL:
		return &s.ITL
	case SigTPOT:
		return &s.TPOT
	case SigE2E:
		return &s.E2E
	case SigIterTokens:
		return &s.Iter
	}
	return nil // a mapping-table bug; TestMappingTablesAreConsistent catches it
}

// groupKey identifies the series that are copies of one another: its labels
// minus the replica labels. Without replica labels every series is its own
// group and the key is never built.
func groupKey(m *dto.Metric, replica []string) string {
	var b strings.Builder
	for _, lp := range m.GetLabel() {
		if lp.GetName() == "le" || slices.Contains(replica, lp.GetName()) {
			continue
		}
		b.WriteString(lp.GetName())
		b.WriteByte('=')
		b.WriteString(lp.GetValue())
		b.WriteByte(0)
	}
	return b.String()
}

// scalarOf sums (or, for KV usage, averages) a gauge or counter family over
// its series, after collapsing replica copies by max. Non-finite values are
// skipped: a NaN gauge says nothing.
func scalarOf(fam *dto.MetricFamily, replica []string, mean bool) (float64, bool) {
	var groups map[string]float64
	total, n := 0.0, 0
	for _, m := range fam.GetMetric() {
		var v float64
		switch fam.GetType() {
		case dto.MetricType_COUNTER:
			v = m.GetCounter().GetValue()
		case dto.MetricType_GAUGE:
			v = m.GetGauge().GetValue()
		case dto.MetricType_UNTYPED:
			v = m.GetUntyped().GetValue()
		default:
			return 0, false
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		if len(replica) == 0 {
			total += v
			n++
			continue
		}
		if groups == nil {
			groups = make(map[string]float64)
		}
		k := groupKey(m, replica)
		if old, ok := groups[k]; !ok || v > old {
			groups[k] = v
		}
	}
	for _, v := range groups {
		total += v
		n++
	}
	if n == 0 {
		return 0, false
	}
	if mean {
		return total / float64(n), true
	}
	return total, true
}

// histogramOf reads every usable series of a histogram family and sums them
// per bucket bound (Prometheus' sum by (le)).
func histogramOf(ctx context.Context, fam *dto.MetricFamily, replica []string) (Histogram, bool, error) {
	var series []Histogram
	var groups map[string]int // group key → index in series
	for i, m := range fam.GetMetric() {
		if i%256 == 0 {
			if err := overBudget(ctx); err != nil {
				return Histogram{}, false, err
			}
		}
		h, ok := readHistogram(m.GetHistogram())
		if !ok {
			continue
		}
		if len(replica) > 0 {
			if groups == nil {
				groups = make(map[string]int)
			}
			k := groupKey(m, replica)
			if i, seen := groups[k]; seen {
				if h.Count > series[i].Count {
					series[i] = h
				}
				continue
			}
			groups[k] = len(series)
		}
		series = append(series, h)
	}
	if len(series) == 0 {
		return Histogram{}, false, nil
	}
	h, err := sumHistograms(ctx, series)
	return h, err == nil, err
}

// readHistogram converts one dto histogram into cumulative buckets sorted by
// bound with a final +Inf bucket; false for series that cannot be counts.
func readHistogram(h *dto.Histogram) (Histogram, bool) {
	if h == nil {
		return Histogram{}, false
	}
	buckets := h.GetBucket()
	out := Histogram{
		Sum: h.GetSampleSum(), Count: h.GetSampleCountFloat(),
		Upper: make([]float64, 0, len(buckets)+1), Cumulative: make([]float64, 0, len(buckets)+1),
	}
	if out.Count <= 0 {
		out.Count = float64(h.GetSampleCount())
	}
	for _, b := range buckets {
		c := b.GetCumulativeCountFloat()
		if c <= 0 {
			c = float64(b.GetCumulativeCount())
		}
		ub := b.GetUpperBound()
		if math.IsNaN(ub) || math.IsNaN(c) || c < 0 {
			return Histogram{}, false
		}
		out.Upper = append(out.Upper, ub)
		out.Cumulative = append(out.Cumulative, c)
	}
	if math.IsNaN(out.Count) || out.Count < 0 {
		return Histogram{}, false
	}
	if !sort.Float64sAreSorted(out.Upper) {
		sort.Sort(bucketSorter(out))
	}
	// Merge repeated bounds, keeping the larger count.
	w := 0
	for i := range out.Upper {
		if w > 0 && out.Upper[w-1] == out.Upper[i] {
			out.Cumulative[w-1] = math.Max(out.Cumulative[w-1], out.Cumulative[i])
			continue
		}
		out.Upper[w], out.Cumulative[w] = out.Upper[i], out.Cumulative[i]
		w++
	}
	out.Upper, out.Cumulative = out.Upper[:w], out.Cumulative[:w]
	// _count is the +Inf bucket by definition; add it where the exposition
	// left it out so quantiles have their required upper end.
	if w == 0 || !math.IsInf(out.Upper[w-1], +1) {
		c := out.Count
		if w > 0 {
			c = math.Max(c, out.Cumulative[w-1])
		}
		out.Upper = append(out.Upper, math.Inf(+1))
		out.Cumulative = append(out.Cumulative, c)
	}
	return out, true
}

type bucketSorter Histogram

func (b bucketSorter) Len() int           { return len(b.Upper) }
func (b bucketSorter) Less(i, j int) bool { return b.Upper[i] < b.Upper[j] }
func (b bucketSorter) Swap(i, j int) {
	b.Upper[i], b.Upper[j] = b.Upper[j], b.Upper[i]
	b.Cumulative[i], b.Cumulative[j] = b.Cumulative[j], b.Cumulative[i]
}

// sumHistograms adds series bucket by bucket. Series normally share one
// layout; where they do not, the union of bounds is used and each series
// contributes its count at its largest bound not above each union bound
// (a lower bound on its true count there).
func sumHistograms(ctx context.Context, series []Histogram) (Histogram, error) {
	first := series[0]
	out := Histogram{
		Upper:      first.Upper,
		Cumulative: slices.Clone(first.Cumulative),
		Sum:        first.Sum,
		Count:      first.Count,
	}
	same := true
	for _, h := range series[1:] {
		if !slices.Equal(h.Upper, out.Upper) {
			same = false
			break
		}
	}
	if !same {
		var bounds []float64
		for _, h := range series {
			bounds = append(bounds, h.Upper...)
		}
		slices.Sort(bounds)
		bounds = slices.Compact(bounds)
		// Aligning costs series × bounds: a layout per series would make
		// it quadratic in the exposition's size.
		if len(bounds) > MaxBucketBounds {
			return Histogram{}, fmt.Errorf("%w: %d distinct bucket bounds across %d series, at most %d", ErrOverBudget, len(bounds), len(series), MaxBucketBounds)
		}
		out = Histogram{Upper: bounds, Cumulative: make([]float64, len(bounds))}
		for i, h := range series {
			if i%64 == 0 {
				if err := overBudget(ctx); err != nil {
					return Histogram{}, err
				}
			}
			addAligned(&out, h)
		}
		return out, nil
	}
	for _, h := range series[1:] {
		for i := range out.Cumulative {
			out.Cumulative[i] += h.Cumulative[i]
		}
		out.Sum += h.Sum
		out.Count += h.Count
	}
	return out, nil
}

func addAligned(dst *Histogram, h Histogram) {
	j := -1
	for i, ub := range dst.Upper {
		for j+1 < len(h.Upper) && h.Upper[j+1] <= ub {
			j++
		}
		if j >= 0 {
			dst.Cumulative[i] += h.Cumulative[j]
		}
	}
	dst.Sum += h.Sum
	dst.Count += h.Count
}
