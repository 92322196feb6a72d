//go:build race

package main

// raceEnabled: the race detector slows each run of the program about tenfold,
// so the longest loops of runs are shortened under it.
const raceEnabled = true
