package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gputune/gputune/bandit"
	"github.com/gputune/gputune/control"
	"github.com/gputune/gputune/internal/assembly"
	"github.com/gputune/gputune/internal/config"
	"github.com/gputune/gputune/internal/safefile"
	"github.com/gputune/gputune/nvgpu"
	"github.com/gputune/gputune/sim"
)

// modelHelp is `gputune model --help` and `gputune help model`.
func modelHelp(w io.Writer) {
	fmt.Fprint(w, `Usage:
  gputune model show [FILE...]      metadata of the given models, or of every saved model
  gputune model export FILE         copy a GPU's learned model to FILE
  gputune model import FILE         install FILE as a GPU's model, after checking all of it

A model is what gputune learned for one GPU model, served model and policy.
With --demo these commands work on the demo's simulated GPUs and their
models, kept apart from real GPUs' (<data-dir>/demo).

Run "gputune help model show|export|import" for each one's flags.
`)
}

// modelFlags are one model subcommand's flags: each lists only its own.
type modelFlags struct {
	fs                                  *flag.FlagSet
	sub                                 string
	configPath, dataDir, policy, served string
	gpu                                 int
	demo, force                         bool
}

func newModelFlags(sub string) *modelFlags {
	f := &modelFlags{fs: flag.NewFlagSet("gputune model "+sub, flag.ContinueOnError), sub: sub}
	fs := f.fs
	fs.StringVar(&f.configPath, "config", "", configFlagHelp)
	fs.StringVar(&f.dataDir, "data-dir", "", "folder of saved models (default: the config's log.data_dir, else /var/lib/gputune as root, ~/.local/state/gputune otherwise)")
	fs.BoolVar(&f.demo, "demo", false, "the demo's simulated GPUs and their models (<data-dir>/demo); no GPU or root needed")
	if sub == "show" {
		return f
	}
	fs.IntVar(&f.gpu, "gpu", 0, "GPU index (with --demo: the simulated GPU's)")
	fs.StringVar(&f.policy, "policy", bandit.PolicyGPUTune, "policy whose model to move: gputune or agft")
	if sub == "import" {
		fs.StringVar(&f.served, "served-model", "", "the model name this node's server runs (checked against the file; default: the file's)")
		fs.BoolVar(&f.force, "force", false, "replace a model already saved for this GPU")
	}
	return f
}

func (f *modelFlags) help(w io.Writer) {
	switch f.sub {
	case "show":
		commandHelp("gputune model show [flags] [FILE...]", `Prints the metadata of each FILE, or of every model saved under the data
folder: GPU model, served model, policy, phase, rounds learned, baseline.`, f.fs)(w)
	case "export":
		commandHelp("gputune model export [flags] FILE", `Copies the model gputune learned for GPU --gpu (policy --policy) to FILE,
for another node of the same GPU model to import.`, f.fs)(w)
	default:
		commandHelp("gputune model import [flags] FILE", `Installs FILE as the model of GPU --gpu (policy --policy). The whole file is
checked first, the policy state included, by restoring it into a policy for
this GPU; a file for another GPU model, served model or policy is refused,
and so is replacing an existing model without --force.`, f.fs)(w)
	}
}

// runModel is `gputune model show|export|import`.
func runModel(ctx context.Context, args []string, std IO) error {
	if len(args) == 0 {
		return usagef("model needs a subcommand: show, export or import (see gputune model --help)")
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "-h", "-help", "--help", "help":
		modelHelp(std.Out)
		return errHelp
	case "show", "export", "import":
	default:
		return usagef("unknown model subcommand %q: want show, export or import (see gputune model --help)", sub)
	}
	f := newModelFlags(sub)
	files, err := parseArgs(f.fs, args, std.Out, f.help)
	if err != nil {
		return err
	}
	cfg, path, err := loadConfig(f.configPath)
	if err != nil {
		return err
	}
	if f.dataDir != "" {
		cfg.Log.DataDir = f.dataDir
	}
	if f.demo {
		cfg = demoDirs(cfg)
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := newLogger(cfg, std.Err, true)
	log.Info("configuration", "file", configSource(path))
	if sub == "show" {
		return modelShow(std, cfg.DataDir(), files)
	}
	if len(files) != 1 {
		return usagef("model %s needs exactly one FILE, got %d (see gputune model %s --help)", sub, len(files), sub)
	}
	if f.policy != bandit.PolicyGPUTune && f.policy != bandit.PolicyAGFT {
		return usagef("--policy %q: want gputune or agft", f.policy)
	}
	if f.gpu < 0 {
		return usagef("--gpu %d: must be a GPU index (0, 1, ...)", f.gpu)
	}
	facts, err := modelFacts(ctx, cfg, f, log)
	if err != nil {
		return err
	}
	local := control.ModelPath(cfg.DataDir(), safefile.Name(facts.Name), facts.UUID, f.policy)
	if sub == "export" {
		e, err := readModel(local)
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("GPU %d has no saved %s model (looked for %s)", f.gpu, f.policy, local)
		}
		if err != nil {
			return err
		}
		if err := control.SaveModel(files[0], e); err != nil {
			return err
		}
		fmt.Fprintf(std.Out, "exported GPU %d's %s model (%s, %d rounds) to %s\n", f.gpu, f.policy, facts.Name, e.Meta.Rounds, files[0])
		return nil
	}
	e, err := readModel(files[0])
	if err != nil {
		return err
	}
	served := f.served
	if served == "" {
		served = e.ServedModel
	}
	if err := e.Check(facts.Name, served); err != nil {
		return fmt.Errorf("%s: %w", files[0], err)
	}
	pcfg := cfg
	pcfg.Control.Policy = f.policy
	if err := checkRestores(pcfg, facts, e); err != nil {
		return fmt.Errorf("%s is not a usable %s model for %s: %w", files[0], f.policy, facts.Name, err)
	}
	if _, err := os.Stat(local); err == nil && !f.force {
		return fmt.Errorf("GPU %d already has a saved %s model at %s: add --force to replace it", f.gpu, f.policy, local)
	}
	if err := control.SaveModel(local, e); err != nil {
		return err
	}
	fmt.Fprintf(std.Out, "imported %s as GPU %d's %s model (%s, %d rounds): wrote %s\n", files[0], f.gpu, f.policy, facts.Name, e.Meta.Rounds, local)
	return nil
}

// modelFacts identifies the GPU a model belongs to: a real one through
// NVML (read-only), or with --demo the simulated one the demo would run.
func modelFacts(ctx context.Context, cfg config.Config, f *modelFlags, log *slog.Logger) (nvgpu.Facts, error) {
	if f.demo {
		if f.gpu >= cfg.Demo.SimGPUs {
			return nvgpu.Facts{}, usagef("--gpu %d: the demo simulates %d GPU(s) (demo.sim_gpus)", f.gpu, cfg.Demo.SimGPUs)
		}
		g, err := sim.NewGPU(cfg.Demo.GPUProfile, cfg.Demo.SimParams)
		if err != nil {
			return nvgpu.Facts{}, fmt.Errorf("%w: demo: %w", config.ErrInvalid, err)
		}
		return simGPUFacts(g.Facts(), f.gpu), nil
	}
	d, err := newBackend(log).open(ctx, f.gpu)
	if err != nil {
		return nvgpu.Facts{}, err
	}
	defer d.close()
	return d.dev.Facts(), nil
}

// checkRestores proves a model usable the way a start would use it: its
// normaliser fits this build's features and its policy state restores into
// a fresh policy for this GPU's clocks.
func checkRestores(cfg config.Config, facts nvgpu.Facts, e bandit.Envelope) error {
	if n := len(e.Normaliser.Stats); n != control.NumFeatures-1 {
		return fmt.Errorf("%w: model has %d features, this build uses %d", bandit.ErrState, n, control.NumFeatures-1)
	}
	arms, err := assembly.Arms(cfg, facts)
	if err != nil {
		return err
	}
	p, err := assembly.NewPolicy(cfg, facts, arms)
	if err != nil {
		return err
	}
	return e.Restore(p)
}

// readModel reads and decodes a model file.
func readModel(path string) (bandit.Envelope, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return bandit.Envelope{}, fmt.Errorf("reading model: %w", err)
	}
	e, err := bandit.UnmarshalEnvelope(data)
	if err != nil {
		return bandit.Envelope{}, fmt.Errorf("%s: %w", path, err)
	}
	return e, nil
}

func modelShow(std IO, dataDir string, files []string) error {
	if len(files) == 0 {
		root := filepath.Join(dataDir, "models")
		_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(path, ".json") {
				files = append(files, path)
			}
			return nil
		})
		if len(files) == 0 {
			fmt.Fprintf(std.Out, "no saved models under %s\n", root)
			return nil
		}
	}
	var errs []error
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err == nil {
			var e bandit.Envelope
			if e, err = bandit.UnmarshalEnvelope(data); err == nil {
				info, _ := os.Stat(path)
				fmt.Fprintf(std.Out, "%s\n  gpu model:    %s\n  served model: %s\n  policy:       %s\n  phase:        %s",
					path, e.GPUModel, orDash(e.ServedModel), e.Policy, orDash(e.Meta.Phase))
				fmt.Fprintf(std.Out, "\n  rounds:       %d\n  baseline:     %d windows\n", e.Meta.Rounds, e.RewardBaseline.N)
				if info != nil {
					fmt.Fprintf(std.Out, "  saved:        %s\n", info.ModTime().Format(time.RFC3339))
				}
				continue
			}
		}
		errs = append(errs, fmt.Errorf("%s: %w", path, err))
	}
	return errors.Join(errs...)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
