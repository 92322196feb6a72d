//go:build !unix

package migrate

import (
	"errors"
	"time"
)

// processCPU is not measured on this system: benchmarks report wall time only.
func processCPU() (time.Duration, bool) { return 0, false }

func mkfifo(string) error { return errors.New("no FIFOs on this system") }
