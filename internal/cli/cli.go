// Package cli is gputune's command line: it parses flags over the config,
// builds the pieces for each subcommand and maps errors to exit codes.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gputune/gputune/control"
	"github.com/gputune/gputune/internal/buildinfo"
	"github.com/gputune/gputune/internal/config"
)

// Exit codes: the table in README.md and docs/restore.md.
const (
	// exitOK: done, or an orderly stop (a signal, q, --duration) with
	// every clock given back.
	exitOK = 0
	// exitFailure: a run failed, the worker ended abnormally (and the
	// clocks were given back), or probe found a part not working.
	exitFailure = 1
	// exitUsage: bad flags or configuration; the message says what to fix.
	exitUsage = 2
	// exitClocksLocked: a reset failed, so clocks may still be locked;
	// `gputune reset` retries.
	exitClocksLocked = 3
)

// IO is the process's standard streams.
type IO struct {
	In       io.Reader
	Out, Err io.Writer
}

// Std returns the process's streams.
func Std() IO { return IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr} }

const usage = `gputune — online GPU clock tuner for LLM inference servers

Usage:
  gputune [flags]                  tune the GPU (terminal UI; --no-tui for JSON lines)
  gputune --demo [flags]           the same against a simulated H100 and vLLM (no GPU, no root)
  gputune probe [flags]            what gputune sees on this machine (read-only)
  gputune reset [--gpu N,M|all]    give back clocks a gputune locked, clear stale state
  gputune model show|export|import [FILE]
                                   look at, save or install a learned model
  gputune bench [flags]            compare policies on the simulator (virtual time)
  gputune version | --version      version, commit and Go release of this binary
  gputune help [COMMAND]           this help, or a command's

Run "gputune help COMMAND" or "gputune COMMAND --help" for a command's flags.
Flags may come before or after arguments.

Configuration: --config FILE; without it /etc/gputune/tuner.toml when run as
root, ./tuner.toml otherwise, each only if present (tuner.toml documents
every key). Flags override the file, the file overrides the defaults.
`

// Main runs gputune with args (without the program name) and returns the
// process exit code.
func Main(ctx context.Context, args []string, std IO) int {
	cmd := ""
	switch {
	case len(args) > 0 && (args[0] == "--version" || args[0] == "-version"):
		cmd, args = "version", args[1:]
	case len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-':
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "help":
		return runHelp(args, std)
	case "":
		err = runTune(ctx, args, std)
	case "probe":
		err = runProbe(ctx, args, std)
	case "reset":
		err = runReset(ctx, args, std)
	case "model":
		err = runModel(ctx, args, std)
	case "bench":
		err = runBench(ctx, args, std)
	case "version":
		fmt.Fprintln(std.Out, "gputune", buildinfo.Read())
		return exitOK
	default:
		fmt.Fprintf(std.Err, "gputune: unknown command %q (see gputune --help)\n", cmd)
		return exitUsage
	}
	return exitCode(err, std)
}

// errUsage marks bad flags or arguments (exit 2).
var errUsage = errors.New("usage")

// exitStatus carries a specific exit code without being an error message.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func exitCode(err error, std IO) int {
	var st exitStatus
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &st):
		return int(st)
	case errors.Is(err, errHelp):
		return exitOK
	case errors.Is(err, errClocksLocked):
		fmt.Fprintf(std.Err, "gputune: %v\n", err)
		return exitClocksLocked
	case errors.Is(err, errUsage), errors.Is(err, config.ErrInvalid), errors.Is(err, control.ErrInvalid):
		fmt.Fprintf(std.Err, "gputune: %s\n", strings.TrimPrefix(err.Error(), errUsage.Error()+": "))
		return usageStatus()
	default:
		fmt.Fprintf(std.Err, "gputune: %v\n", err)
		return exitFailure
	}
}

// runHelp is `gputune help [COMMAND [SUBCOMMAND]]`: the help a command
// prints for --help, on stdout.
func runHelp(args []string, std IO) int {
	name := strings.Join(args, " ")
	h, ok := helpFor(name)
	if !ok {
		fmt.Fprintf(std.Err, "gputune: no help for %q: the commands are probe, reset, model, bench, version (see gputune --help)\n", name)
		return exitUsage
	}
	h(std.Out)
	return exitOK
}

// helpFor finds a command's help by name ("" is the tuning command).
func helpFor(name string) (func(io.Writer), bool) {
	switch name {
	case "", "gputune":
		return newRunFlags("gputune").help, true
	case "probe":
		return newProbeFlags().help, true
	case "reset":
		return newResetFlags().help, true
	case "model":
		return modelHelp, true
	case "model show", "model export", "model import":
		return newModelFlags(strings.TrimPrefix(name, "model ")).help, true
	case "bench":
		return newBenchFlags().help, true
	case "version":
		return func(w io.Writer) { fmt.Fprintln(w, "Usage:\n  gputune version\n\nprints the version") }, true
	}
	return nil, false
}
