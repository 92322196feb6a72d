// Package bench holds the evidence that needs a whole process or a whole
// simulated CI fleet: scale under the project's shared quota, peak memory and
// start-up time of the real binary. It has no production code; its tests and
// benchmarks drive the real GSM client against the embedded emulator.
//
//	go test ./bench -run '^$' -bench . -benchtime 1x
package bench
