package cli

import "testing"

func TestSupervisedStatus(t *testing.T) {
	tests := []struct {
		supervise, want int
		what            string
	}{
		{0, 0, "orderly stop, clocks given back"},
		{1, 1, "a runtime failure in the worker"},
		{workerUsage, 2, "bad configuration found by the worker"},
		{2, 1, "the Go runtime's exit after an unrecovered panic"},
		{3, 3, "a reset failed"},
		{128 + 9, 1, "worker SIGKILLed, the supervisor reset"},
		{128 + 15, 1, "worker killed by an unhandled SIGTERM"},
		{7, 1, "os.Exit(7) in a library"},
	}
	for _, tt := range tests {
		if got := supervisedStatus(tt.supervise); got != tt.want {
			t.Errorf("%s: supervisedStatus(%d) = %d, want %d", tt.what, tt.supervise, got, tt.want)
		}
	}
}
