package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
)

// usageError is bad usage (exit 2) whose text is the whole message: one
// line that says what is wrong and where the help is.
type usageError struct{ msg string }

func (e usageError) Error() string        { return e.msg }
func (e usageError) Is(target error) bool { return target == errUsage }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// parseArgs parses args with fs, allowing flags after positional arguments
// (`model export FILE --gpu 0`): the standard library stops at the first
// positional, so parsing resumes after each one. Everything after "--" is
// positional. --help prints help to stdout and returns errHelp; a bad flag
// is one line that points to --help, never a usage dump.
func parseArgs(fs *flag.FlagSet, args []string, out io.Writer, help func(io.Writer)) ([]string, error) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var pos []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			help(out)
			return nil, errHelp
		}
		if err != nil {
			return nil, flagError(fs, err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if i := len(args) - len(rest); i > 0 && args[i-1] == "--" {
			return append(pos, rest...), nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// The standard library's flag errors, rewritten with "--" and a pointer to
// the help.
var (
	reUndefined = regexp.MustCompile(`^flag provided but not defined: -+(.*)$`)
	reInvalid   = regexp.MustCompile(`^invalid (?:boolean )?value "(.*)" for (?:flag )?-+([^:]+): (.*)$`)
	reNeedsArg  = regexp.MustCompile(`^flag needs an argument: -+(.*)$`)
)

func flagError(fs *flag.FlagSet, err error) error {
	see := fmt.Sprintf("see %s --help", fs.Name())
	msg := err.Error()
	if m := reUndefined.FindStringSubmatch(msg); m != nil {
		return usagef("unknown flag --%s (%s)", m[1], see)
	}
	if m := reNeedsArg.FindStringSubmatch(msg); m != nil {
		return usagef("flag --%s needs a value (%s)", m[1], see)
	}
	if m := reInvalid.FindStringSubmatch(msg); m != nil {
		value, name, why := m[1], m[2], m[3]
		if fl := fs.Lookup(name); fl != nil && isDuration(fl) {
			return usagef("--%s %q is not a duration: give a number with a unit, such as %ss or %sm (%s)", name, value, value, value, see)
		}
		return usagef("--%s %q: %s (%s)", name, value, why, see)
	}
	return usagef("%s (%s)", msg, see)
}

func isDuration(fl *flag.Flag) bool {
	g, ok := fl.Value.(flag.Getter)
	if !ok {
		return false
	}
	_, ok = g.Get().(time.Duration)
	return ok
}

// printFlags lists fs's flags the way people type them: --name VALUE, the
// description on the next line, the default when it says something.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(fl *flag.Flag) {
		kind, text := flag.UnquoteUsage(fl)
		line := "  --" + fl.Name
		if kind != "" {
			line += " " + strings.ToUpper(kind)
		}
		fmt.Fprintln(w, line)
		fmt.Fprintf(w, "        %s", text)
		if d := fl.DefValue; d != "" && d != "0" && d != "false" && d != "0s" && !strings.Contains(text, "default") {
			fmt.Fprintf(w, " (default %s)", d)
		}
		fmt.Fprintln(w)
	})
}

// commandHelp prints a command's synopsis, what it does and its own flags.
func commandHelp(synopsis, about string, fs *flag.FlagSet) func(io.Writer) {
	return func(w io.Writer) {
		fmt.Fprintf(w, "Usage:\n  %s\n\n%s\n", synopsis, strings.TrimSpace(about))
		if fs != nil {
			fmt.Fprintln(w, "\nFlags:")
			printFlags(w, fs)
		}
	}
}
