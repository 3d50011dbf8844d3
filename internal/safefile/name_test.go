package safefile

import "testing"

func TestName(t *testing.T) {
	tests := map[string]string{
		"NVIDIA H100 80GB HBM3":       "NVIDIA_H100_80GB_HBM3",
		"meta-llama/Llama-3.1-8B":     "meta-llama_Llama-3.1-8B",
		"../../etc/passwd":            "etc_passwd",
		"  ":                          "unknown",
		"NVIDIA A100-SXM4-80GB (sim)": "NVIDIA_A100-SXM4-80GB_sim",
	}
	for in, want := range tests {
		if got := Name(in); got != want {
			t.Errorf("Name(%q) = %q, want %q", in, got, want)
		}
	}
}
