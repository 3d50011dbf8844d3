package cli

import (
	"fmt"

	"github.com/gputune/gputune/nvgpu"
	"github.com/gputune/gputune/sim"
)

// simGPU is one of the demo's simulated GPUs under an identity of its own:
// every sim.Live reports index 0 and its profile's UUID, but a simulated
// node of several GPUs needs distinct ones, since models, decision logs and
// metrics are keyed by them. GPU 0 keeps the simulator's identity, so a
// one-GPU demo finds the model it saved before.
type simGPU struct {
	*sim.Live
	index int
}

func newSimGPU(live *sim.Live, index int) simGPU { return simGPU{Live: live, index: index} }

// Facts is the simulator's facts with this GPU's index and UUID.
func (g simGPU) Facts() nvgpu.Facts { return simGPUFacts(g.Live.Facts(), g.index) }

// simGPUFacts gives simulated GPU index its own index and UUID.
func simGPUFacts(f nvgpu.Facts, index int) nvgpu.Facts {
	if index != 0 {
		f.Index = index
		f.UUID = fmt.Sprintf("%s-%d", f.UUID, index)
	}
	return f
}
