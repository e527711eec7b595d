package agentkit

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Main is the body of an example's main function: it runs run with a
// context that SIGINT and SIGTERM cancel (so that an interrupted agent
// still flushes its spans) and returns the exit status, 0 or, after
// printing "name: error" to standard error, 1.
//
//	func main() { flag.Parse(); os.Exit(agentkit.Main("myagent", run)) }
func Main(name string, run func(ctx context.Context) error) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return exitStatus(ctx, os.Stderr, name, run)
}

func exitStatus(ctx context.Context, stderr io.Writer, name string, run func(ctx context.Context) error) int {
	if err := run(ctx); err != nil {
		fmt.Fprintln(stderr, name+":", err)
		return 1
	}
	return 0
}
