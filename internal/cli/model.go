package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gputune/gputune/bandit"
	"github.com/gputune/gputune/control"
	"github.com/gputune/gputune/internal/config"
)

const modelUsage = `usage:
  gputune model show [FILE...]                       metadata of the given models, or of every saved model
  gputune model export [--gpu N] [--policy P] FILE   copy GPU N's learned model to FILE
  gputune model import [--gpu N] [--policy P] [--served-model NAME] FILE
                                                     install FILE as GPU N's model (refused for another GPU or served model)`

// runModel is `gputune model show|export|import`.
func runModel(ctx context.Context, args []string, std IO) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: model needs a subcommand\n%s", errUsage, modelUsage)
	}
	sub, args := args[0], args[1:]
	set := flag.NewFlagSet("gputune model "+sub, flag.ContinueOnError)
	set.SetOutput(std.Err)
	cfg := loadQuiet()
	dataDir := set.String("data-dir", cfg.DataDir(), "folder of saved models")
	gpu := set.Int("gpu", 0, "GPU index")
	policy := set.String("policy", bandit.PolicyGPUTune, "policy whose model to move: gputune or agft")
	served := set.String("served-model", "", "import: the model name this node's server runs (checked against the file)")
	if err := set.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	switch sub {
	case "show":
		return modelShow(std, *dataDir, set.Args())
	case "export", "import":
		if set.NArg() != 1 {
			return fmt.Errorf("%w: model %s needs exactly one FILE\n%s", errUsage, sub, modelUsage)
		}
		be := newBackend(newLogger(cfg, std.Err, true))
		d, err := be.open(ctx, *gpu)
		if err != nil {
			return err
		}
		facts := d.dev.Facts()
		_ = d.close()
		local := control.ModelPath(*dataDir, config.SanitizeModelName(facts.Name), facts.UUID, *policy)
		if sub == "export" {
			return modelCopy(local, set.Arg(0), facts.Name, "")
		}
		return modelCopy(set.Arg(0), local, facts.Name, *served)
	}
	return fmt.Errorf("%w: unknown model subcommand %q\n%s", errUsage, sub, modelUsage)
}

// modelCopy validates src as a model for gpuModel (and servedModel, when
// given) and writes it atomically to dst.
func modelCopy(src, dst, gpuModel, servedModel string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("reading model: %w", err)
	}
	e, err := bandit.UnmarshalEnvelope(data)
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	if servedModel == "" {
		servedModel = e.ServedModel
	}
	if err := e.Check(gpuModel, servedModel); err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	return control.SaveModel(dst, e)
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
