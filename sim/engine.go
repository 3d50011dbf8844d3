package sim

import (
	"fmt"
	"time"
)

// EngineConfig is the serving engine's configuration, with vLLM's names.
// Zero fields take the defaults shown.
type EngineConfig struct {
	MaxNumSeqs          int // 256
	MaxNumBatchedTokens int // 8192: the per-step token budget (chunked prefill)
	BlockSize           int // 16 tokens per KV block
	// GPUMemoryBytes (80 GiB), GPUMemoryUtilization (0.9) and ReserveBytes
	// (1 GiB of activations and CUDA graphs) set the KV capacity: what is
	// left after the weights.
	GPUMemoryBytes       float64
	GPUMemoryUtilization float64
	ReserveBytes         float64
	// KVBlocks overrides the computed KV capacity (tests use it to force
	// preemption).
	KVBlocks int
	// DecodeCoalesce (default 40 ms; negative: off) lets the simulator run
	// consecutive pure-decode steps with no arrival, no finish and no
	// prefill in between as one GPU call of up to this long. Tokens and
	// latencies are still applied step by step at their exact times; the
	// steps share the first one's Work, which understates KV reads by at
	// most a few tokens per request (well under 0.1% of bytes).
	DecodeCoalesce time.Duration
}

func (c EngineConfig) withDefaults() EngineConfig {
	if c.MaxNumSeqs == 0 {
		c.MaxNumSeqs = 256
	}
	if c.MaxNumBatchedTokens == 0 {
		c.MaxNumBatchedTokens = 8192
	}
	if c.BlockSize == 0 {
		c.BlockSize = 16
	}
	if c.GPUMemoryBytes == 0 {
		c.GPUMemoryBytes = 80 << 30
	}
	if c.GPUMemoryUtilization == 0 {
		c.GPUMemoryUtilization = 0.9
	}
	if c.ReserveBytes == 0 {
		c.ReserveBytes = 1 << 30
	}
	if c.DecodeCoalesce == 0 {
		c.DecodeCoalesce = 40 * time.Millisecond
	}
	return c
}

func (c EngineConfig) validate() error {
	switch {
	case c.MaxNumSeqs < 0 || c.MaxNumBatchedTokens < 0 || c.BlockSize < 0 || c.KVBlocks < 0:
		return fmt.Errorf("engine: max_num_seqs, max_num_batched_tokens, block size and KV blocks must not be negative")
	case c.GPUMemoryUtilization < 0 || c.GPUMemoryUtilization > 1:
		return fmt.Errorf("engine: gpu_memory_utilization %g must be in (0, 1]", c.GPUMemoryUtilization)
	case c.GPUMemoryBytes < 0 || c.ReserveBytes < 0:
		return fmt.Errorf("engine: GPU memory and reserve must not be negative")
	}
	return nil
}

// engine is vLLM V1's scheduler and model runner reduced to arithmetic: plain
// data, with two slices that Clone copies.
type engine struct {
	model ModelProfile
	cfg   EngineConfig

	totalBlocks, freeBlocks int32
	maxTokens               int32 // per request: prompt + output

	running []request
	waiting queue

	// The step in flight: its Work, when it (or its current sub-step)
	// began and how long is left. A coalesced decode run has subLeft more
	// sub-steps of subDur each after the current one.
	inflight  bool
	work      Work
	stepStart time.Duration
	remaining time.Duration
	subDur    time.Duration
	subLeft   int32

	stats engineStats
}

// engineStats are the cumulative counters and histograms behind /metrics
// and the ground truth.
type engineStats struct {
	arrived, promptTokens, genTokens   float64
	prefixQueries, prefixHits          float64
	finished, preemptions, steps, busy float64

	ttft, itl, tpot, e2e               hist
	queueTime, inference, prefill, dec hist
	iterTokens, reqPrompt, reqGen      hist
	sglTTFT, sglITL, sglE2E            hist

	truthTTFT, truthTPOT, truthE2E LatencyDist
	slo                            SLO
	sloTTFTMet, sloTPOTMet, sloMet float64
}

func newEngine(model ModelProfile, cfg EngineConfig, slo SLO) (engine, error) {
	if err := model.validate(); err != nil {
		return engine{}, err
	}
	if err := cfg.validate(); err != nil {
		return engine{}, err
	}
	cfg = cfg.withDefaults()
	blocks := cfg.KVBlocks
	if blocks == 0 {
		kvBytes := cfg.GPUMemoryBytes*cfg.GPUMemoryUtilization - model.WeightBytes - cfg.ReserveBytes
		blocks = int(kvBytes / (model.KVBytesPerToken * float64(cfg.BlockSize)))
	}
	if blocks <= 0 {
		return engine{}, fmt.Errorf("engine: model %q (%.1f GB) leaves no room for a KV cache in %.1f GB at utilization %g",
			model.Name, model.WeightBytes/1e9, cfg.GPUMemoryBytes/1e9, cfg.GPUMemoryUtilization)
	}
	e := engine{
		model:       model,
		cfg:         cfg,
		totalBlocks: int32(blocks),
		freeBlocks:  int32(blocks),
		maxTokens:   int32(min(model.MaxModelLen, blocks*cfg.BlockSize)),
		running:     make([]request, 0, cfg.MaxNumSeqs),
	}
	e.stats = engineStats{
		ttft:       newHist(ttftBucketsV1()...),
		itl:        newHist(itlBucketsV1()...),
		tpot:       newHist(itlBucketsV1()...),
		e2e:        newHist(requestLatencyBucketsV1()...),
		queueTime:  newHist(requestLatencyBucketsV1()...),
		inference:  newHist(requestLatencyBucketsV1()...),
		prefill:    newHist(requestLatencyBucketsV1()...),
		dec:        newHist(requestLatencyBucketsV1()...),
		iterTokens: newHist(iterationTokenBucketsV1()...),
		reqPrompt:  newHist(buckets125(model.MaxModelLen)...),
		reqGen:     newHist(buckets125(model.MaxModelLen)...),
		sglTTFT:    newHist(ttftBucketsSGLang()...),
		sglITL:     newHist(itlBucketsSGLang()...),
		sglE2E:     newHist(e2eBucketsSGLang()...),
		slo:        slo,
	}
	return e, nil
}

// arrive queues a new request. Requests longer than the model or the whole
// KV cache are cut to fit, the way a client's max_tokens would be.
func (e *engine) arrive(p pendingRequest) {
	prompt := min(p.prompt, e.maxTokens-1)
	output := min(p.output, e.maxTokens-prompt)
	e.waiting.pushBack(freshRequest{arrival: int64(p.at), prompt: prompt, output: max(output, 1)})
	e.stats.arrived++
}

func (e *engine) blocksFor(tokens int32) int32 {
	bs := int32(e.cfg.BlockSize)
	return (tokens + bs - 1) / bs
}

// preemptLast moves the lowest-priority running request back to the front
// of the queue and frees its KV; it will recompute from scratch (vLLM V1).
func (e *engine) preemptLast() {
	last := len(e.running) - 1
	r := e.running[last]
	e.running = e.running[:last]
	e.freeBlocks += r.blocks
	r.blocks, r.computed, r.scheduled = 0, 0, 0
	e.waiting.pushFront(r)
	e.stats.preemptions++
}

// schedule picks the next step's batch, the way vLLM V1's scheduler does:
// running requests first (a decode token each, or the next prefill chunk),
// preempting from the back when the KV cache is full; then waiting requests
// while the token budget, max_num_seqs and the KV cache allow. It returns
// the step's Work (zero when there is nothing to do).
func (e *engine) schedule(now time.Duration) Work {
	budget := int32(e.cfg.MaxNumBatchedTokens)
	preempted := false
	for i := 0; i < len(e.running) && budget > 0; i++ {
		r := &e.running[i]
		n := min(r.prompt+r.generated-r.computed, budget)
		need := e.blocksFor(r.computed+n) - r.blocks
		for need > e.freeBlocks && i < len(e.running)-1 {
			e.preemptLast()
			preempted = true
		}
		if need > e.freeBlocks {
			// r itself is the last one: it goes back to the queue.
			e.preemptLast()
			preempted = true
			break
		}
		e.freeBlocks -= need
		r.blocks += need
		r.scheduled = n
		budget -= n
	}
	for !preempted && budget > 0 && e.waiting.len() > 0 && len(e.running) < e.cfg.MaxNumSeqs {
		w := e.waiting.front()
		n := min(w.prompt+w.generated, budget)
		need := e.blocksFor(n)
		if need > e.freeBlocks {
			break
		}
		r := e.waiting.popFront()
		if r.firstScheduled < 0 {
			r.firstScheduled = int64(now)
			e.stats.prefixQueries += float64(r.prompt)
		}
		e.freeBlocks -= need
		r.blocks = need
		r.scheduled = n
		budget -= n
		e.running = append(e.running, r)
	}
	return e.batchWork()
}

// batchWork turns the scheduled batch into FLOPs and bytes: dense GEMMs per
// token, attention per (query, context) pair, the weights read once, the
// context's KV read and the new tokens' KV written.
func (e *engine) batchWork() Work {
	var tokens, pairs, ctx float64
	for i := range e.running {
		r := &e.running[i]
		n := float64(r.scheduled)
		if n == 0 {
			continue
		}
		c := float64(r.computed)
		tokens += n
		pairs += n * (c + (n+1)/2)
		ctx += c + n
	}
	return stepWork(&e.model, tokens, pairs, ctx)
}

// stepWork is the Work of one server step of a model: tokens new tokens,
// pairs (query, context) attention pairs, ctx context tokens whose KV is
// read (the new tokens' included).
func stepWork(m *ModelProfile, tokens, pairs, ctx float64) Work {
	if tokens == 0 {
		return Work{}
	}
	return Work{
		FLOPs:       tokens*m.DenseFLOPsPerToken + pairs*m.AttnFLOPsPerPair,
		Bytes:       m.WeightBytes + (ctx+tokens)*m.KVBytesPerToken,
		Tokens:      int(tokens),
		KVReadBytes: ctx * m.KVBytesPerToken,
		ServerStep:  true,
	}
}

// DecodeStepWork is the Work of one decode step of the named model as the
// simulated server runs it: batch sequences with contextTokens of context
// each, one new token per sequence.
func DecodeStepWork(model string, batch, contextTokens int) (Work, error) {
	m, err := LookupModel(model)
	if err != nil {
		return Work{}, err
	}
	if batch < 1 || contextTokens < 0 {
		return Work{}, fmt.Errorf("decode step: batch %d must be at least 1 and context %d not negative", batch, contextTokens)
	}
	b, c := float64(batch), float64(contextTokens)
	return stepWork(&m, b, b*(c+1), b*(c+1)), nil
}

// PrefillStepWork is the Work of one prefill step of the named model as the
// simulated server runs it: one chunk of tokens with no earlier context.
func PrefillStepWork(model string, tokens int) (Work, error) {
	m, err := LookupModel(model)
	if err != nil {
		return Work{}, err
	}
	if tokens < 1 {
		return Work{}, fmt.Errorf("prefill step: %d tokens, need at least 1", tokens)
	}
	n := float64(tokens)
	return stepWork(&m, n, n*(n+1)/2, n), nil
}

// decodeRun returns how many identical decode steps of duration d can run
// from now as one GPU call, and reserves their KV blocks. It is 1 unless
// every running request is decoding, nobody waits, no arrival is due
// before the run's end and no request finishes before its last step.
func (e *engine) decodeRun(now, d time.Duration, nextArrival time.Duration, arrivalDue bool) int32 {
	if e.waiting.len() > 0 || d <= 0 || e.cfg.DecodeCoalesce <= d {
		return 1
	}
	k := int32(min(int64(e.cfg.DecodeCoalesce/d), 64))
	if arrivalDue {
		// An arrival is admitted at the first step end at or after it.
		k = min(k, int32(max((nextArrival-now+d-1)/d, 1)))
	}
	for i := range e.running {
		r := &e.running[i]
		if r.scheduled != 1 || r.generated == 0 {
			return 1
		}
		k = min(k, r.output-r.generated)
	}
	if k <= 1 {
		return 1
	}
	var extra int32
	for i := range e.running {
		r := &e.running[i]
		extra += e.blocksFor(r.computed+k) - r.blocks
	}
	if extra > e.freeBlocks {
		return 1
	}
	for i := range e.running {
		r := &e.running[i]
		need := e.blocksFor(r.computed+k) - r.blocks
		r.blocks += need
	}
	e.freeBlocks -= extra
	return k
}

// finishDueSubSteps applies the sub-steps of a coalesced decode run that
// have ended by now, except the last, which finishStep applies.
func (e *engine) finishDueSubSteps(now time.Duration) {
	for e.subLeft > 0 && e.stepStart+e.subDur <= now {
		e.subLeft--
		e.finishStep(e.stepStart+e.subDur, true)
	}
}

// finishStep applies the step that ended at now: KV written, tokens
// sampled, latencies observed, finished requests retired. With more, the
// same batch runs again (a coalesced decode run), so each request keeps its
// one scheduled token.
func (e *engine) finishStep(now time.Duration, more bool) {
	st := &e.stats
	t := int64(now)
	start := int64(e.stepStart)
	st.steps++
	st.busy += (now - e.stepStart).Seconds()
	st.iterTokens.observe(float64(e.work.Tokens), 1)
	// Requests that also sampled at the previous step's end share one
	// inter-token latency: observe them together.
	sameITL := 0.0
	finished := 0
	for i := range e.running {
		r := &e.running[i]
		if r.scheduled == 0 {
			continue
		}
		r.computed += r.scheduled
		if !more {
			r.scheduled = 0
		}
		if r.computed < r.prompt+r.generated {
			continue // a prefill chunk: nothing sampled yet
		}
		r.generated++
		if r.generated == 1 {
			st.promptTokens += float64(r.prompt)
			r.firstToken = t
			ttft := time.Duration(t - r.arrival)
			st.ttft.observe(ttft.Seconds(), 1)
			st.sglTTFT.observe(ttft.Seconds(), 1)
			st.truthTTFT.observe(ttft)
		} else if r.lastToken == start {
			sameITL++
		} else {
			itl := time.Duration(t - r.lastToken).Seconds()
			st.itl.observe(itl, 1)
			st.sglITL.observe(itl, 1)
		}
		r.lastToken = t
		if r.generated == r.output {
			finished++
			e.freeBlocks += r.blocks
			e.retire(*r, t)
		}
		st.genTokens++
	}
	if finished > 0 {
		kept := e.running[:0]
		for _, r := range e.running {
			if r.generated < r.output {
				kept = append(kept, r)
			}
		}
		e.running = kept
	}
	if sameITL > 0 {
		itl := (now - e.stepStart).Seconds()
		st.itl.observe(itl, sameITL)
		st.sglITL.observe(itl, sameITL)
	}
	e.stepStart = now
}

// retire records a finished request's latencies.
func (e *engine) retire(r request, t int64) {
	st := &e.stats
	sec := func(ns int64) float64 { return time.Duration(ns).Seconds() }
	e2e := time.Duration(t - r.arrival)
	tpot := time.Duration(0)
	if r.output > 1 {
		tpot = time.Duration((t - r.firstToken) / int64(r.output-1))
	}
	st.finished++
	st.e2e.observe(e2e.Seconds(), 1)
	st.sglE2E.observe(e2e.Seconds(), 1)
	st.tpot.observe(tpot.Seconds(), 1)
	st.queueTime.observe(sec(r.firstScheduled-r.arrival), 1)
	st.inference.observe(sec(t-r.firstScheduled), 1)
	st.prefill.observe(sec(r.firstToken-r.firstScheduled), 1)
	st.dec.observe(sec(t-r.firstToken), 1)
	st.reqPrompt.observe(float64(r.prompt), 1)
	st.reqGen.observe(float64(r.output), 1)
	st.truthTPOT.observe(tpot)
	st.truthE2E.observe(e2e)
	ttft := time.Duration(r.firstToken - r.arrival)
	okTTFT := st.slo.TTFT <= 0 || ttft <= st.slo.TTFT
	okTPOT := st.slo.TPOT <= 0 || tpot <= st.slo.TPOT
	if okTTFT {
		st.sloTTFTMet++
	}
	if okTPOT {
		st.sloTPOTMet++
	}
	if okTTFT && okTPOT {
		st.sloMet++
	}
}

// kvUsage is the fraction of KV blocks in use, as vLLM reports it.
func (e *engine) kvUsage() float64 {
	return 1 - float64(e.freeBlocks)/float64(e.totalBlocks)
}
