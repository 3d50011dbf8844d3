package sim

import (
	"bytes"
	_ "embed"
)

//go:embed traces/azure-conv-2023.csv
var azureConvCSV []byte

// AzureConvTrace parses the embedded Azure 2023 conversation trace
// (CC-BY 4.0; see sim/traces/README.md), so the demo and the benchmark
// replay a real workload without any file beside the binary.
func AzureConvTrace() (*Trace, error) {
	return ParseTrace(bytes.NewReader(azureConvCSV), "azure-conv-2023.csv (embedded)")
}
