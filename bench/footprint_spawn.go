//go:build ignore

// footprint_spawn is the small parent footprint_test.go measures the real
// binary through; it is built by that test (go build footprint_spawn.go), not
// part of package bench.
//
// Usage: footprint_spawn PROGRAM ARGS...
//
// It runs PROGRAM with this process's stdin, stdout, stderr and environment,
// and writes one JSON line to file descriptor 3:
//
//	{"exit": N, "maxrss_kib": N, "wall_ns": N, "spawner_hwm_kib": N}
//
// Why a separate parent: Linux charges a process, when it execs, with the
// peak RSS of the memory it had before the exec (exec_mmap records the old
// mm's high-water mark in signal->maxrss). Go starts children with
// clone(CLONE_VM|CLONE_VFORK), so a child of the test process inherits the
// test process's peak (the emulator and its seed, over 100 MiB) in its
// ru_maxrss. This parent stays at a few MiB, which it reports as
// spawner_hwm_kib: a maxrss_kib above it is the child's own peak.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: footprint_spawn PROGRAM ARGS...")
		os.Exit(2)
	}
	report := os.NewFile(3, "report")
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	hwm := selfHWM() // before the start: what the child can inherit
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if cmd.ProcessState == nil {
		fmt.Fprintln(os.Stderr, "footprint_spawn:", err)
		os.Exit(2)
	}
	out := struct {
		Exit          int   `json:"exit"`
		MaxRSSKiB     int64 `json:"maxrss_kib"`
		WallNS        int64 `json:"wall_ns"`
		SpawnerHWMKiB int64 `json:"spawner_hwm_kib"`
	}{
		Exit:          cmd.ProcessState.ExitCode(),
		MaxRSSKiB:     cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss,
		WallNS:        wall.Nanoseconds(),
		SpawnerHWMKiB: hwm,
	}
	if err := json.NewEncoder(report).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "footprint_spawn: report:", err)
		os.Exit(2)
	}
}

// selfHWM is this process's peak RSS in KiB (VmHWM), or -1.
func selfHWM() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmHWM:")); ok {
			n, err := strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(v), []byte(" kB"))), 10, 64)
			if err == nil {
				return n
			}
		}
	}
	return -1
}
