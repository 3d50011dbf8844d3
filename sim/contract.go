// Package sim is a calibrated simulated GPU and inference server. Its core is
// a value-type state machine advanced in virtual time; a real-time wrapper
// backs `gputune --demo`. It backs the tests and `gputune bench`.
//
// The package has two halves with one seam between them:
//   - the GPU (gpu*.go): profiles, parameter sets, power, clocks, power cap,
//     governor, temperature and NVML artefacts; it implements the nvgpu
//     Reader and Controller methods;
//   - the engine (engine*.go, workload*.go, expo*.go, sim.go, live.go): vLLM-like
//     continuous batching that turns each batch into Work, workloads and
//     traces, the /metrics exposition, the whole-simulation value type Sim and
//     the real-time wrapper.
package sim

// Work is what one engine step asks of the GPU.
type Work struct {
	FLOPs float64 // dense math, in FLOP
	Bytes float64 // HBM traffic (weights, KV reads and writes), in bytes
	// Tokens is the number of tokens in the step (prefill + decode): the M
	// of the step's GEMMs, which sets their efficiency. Zero Work means the
	// GPU is idle (a CUDA context is still held).
	Tokens int
	// KVReadBytes is the part of Bytes that attention reads from the paged
	// KV cache; it streams at the profile's KV-read efficiency, not at the
	// weights' bandwidth.
	KVReadBytes float64
	// ServerStep marks one step of a serving engine: the step also spends
	// the parameter set's host (CPU) time, with the GPU idle, and its small
	// latency-bound kernels (norms, RoPE, sampling), whose time scales as
	// 1/f. A bare kernel loop (the probe's load) leaves it false.
	ServerStep bool
}

// IsIdle reports whether w asks for nothing.
func (w Work) IsIdle() bool { return w.FLOPs == 0 && w.Bytes == 0 }
