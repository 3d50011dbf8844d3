// Command gputune is an online GPU clock tuner for LLM inference servers.
// See README.md.
package main

import (
	"context"
	"os"

	"github.com/gputune/gputune/internal/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), os.Args[1:], cli.Std()))
}
