package main

import (
	"strconv"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/airbytehq/ci-secrets/internal/scripted"
)

// scriptedKey holds a script's *scriptedState in its testscript.Env values.
type scriptedKey struct{}

// scriptedState is the scripted server a script started, if any.
type scriptedState struct{ srv *scripted.Server }

// cmdScriptedServer starts a Secret Manager that answers as the named mode
// says (internal/scripted.Mode: `stuck 200`, `oversized 16 100000000`,
// `endless-pages`, ...), or stands for nothing to talk to: `refused` (a
// port where nothing listens) and `http1` (a web server, not gRPC). It
// points SECRET_MANAGER_EMULATOR_HOST at it and sets GCP_PROJECT_ID to the
// project it serves, for the rest of the script.
func cmdScriptedServer(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: scripted-server MODE [ARGS...]")
	}
	var addr string
	switch args[0] {
	case "refused":
		a, err := scripted.RefusedAddr()
		ts.Check(err)
		addr = a
	case "http1":
		a, stop, err := scripted.HTTP1()
		ts.Check(err)
		ts.Defer(stop)
		addr = a
	default:
		h, err := scripted.Mode(args)
		if err != nil {
			ts.Fatalf("scripted-server: %v", err)
		}
		srv := scripted.New(h)
		a, err := srv.Start()
		ts.Check(err)
		ts.Defer(srv.Stop)
		ts.Value(scriptedKey{}).(*scriptedState).srv = srv
		addr = a
	}
	ts.Setenv("SECRET_MANAGER_EMULATOR_HOST", addr)
	ts.Setenv("GCP_PROJECT_ID", scripted.Project)
}

// cmdScriptedCalls checks how many requests the scripted server received
// for one method: `scripted-calls AccessSecretVersion 1 32` (inclusive).
func cmdScriptedCalls(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: scripted-calls METHOD MIN MAX")
	}
	st := ts.Value(scriptedKey{}).(*scriptedState)
	if st.srv == nil {
		ts.Fatalf("scripted-calls: no scripted server was started")
	}
	lo, err1 := strconv.Atoi(args[1])
	hi, err2 := strconv.Atoi(args[2])
	if err1 != nil || err2 != nil {
		ts.Fatalf("scripted-calls: bad bounds %q %q", args[1], args[2])
	}
	got := st.srv.Calls()[args[0]]
	ts.Logf("%s: %d requests", args[0], got)
	if got < lo || got > hi {
		ts.Fatalf("%s received %d requests, want %d to %d (all calls: %s)", args[0], got, lo, hi, formatCalls(st.srv.Calls()))
	}
}

func formatCalls(m map[string]int) string {
	var b strings.Builder
	for k, v := range m {
		b.WriteString(k + "=" + strconv.Itoa(v) + " ")
	}
	return strings.TrimSpace(b.String())
}
