package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/airbytehq/ci-secrets/ghactions"
)

var update = flag.Bool("u", false, "update testscript golden files")

// transcriptEnv names a folder where every ci-secrets process run by a script
// appends what it printed, so the leak check sees all output of the script,
// background and emulator-exec children included.
const transcriptEnv = "CI_SECRETS_TEST_TRANSCRIPT"

// beMainEnv makes the test binary act as ci-secrets itself, so Go tests can
// run the real program (with the race detector when enabled) as a process.
const beMainEnv = "CI_SECRETS_TEST_BE_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(beMainEnv) == "1" {
		os.Exit(runRecorded(os.Args[1:]))
	}
	testscript.Main(m, map[string]func(){
		"ci-secrets": func() { os.Exit(runRecorded(os.Args[1:])) },
	})
}

// runRecorded runs the real entry point, copying stdout and stderr into the
// transcript folder when the test harness asked for it.
func runRecorded(args []string) int {
	s := stdio()
	if dir := os.Getenv(transcriptEnv); dir != "" {
		out, err1 := os.CreateTemp(dir, "stdout-*")
		errf, err2 := os.CreateTemp(dir, "stderr-*")
		if err1 == nil && err2 == nil {
			defer out.Close()
			defer errf.Close()
			fmt.Fprintf(out, "$ ci-secrets %s\n", strings.Join(args, " "))
			s.stdout = io.MultiWriter(os.Stdout, out)
			s.stderr = io.MultiWriter(os.Stderr, errf)
		}
	}
	if os.Getenv(debugEnv) != "" {
		// Every end-to-end run logs at debug level, the most talkative, so
		// the leak check covers the worst case.
		args = append([]string{"--log-level=debug"}, args...)
	}
	return run(args, s)
}

// debugEnv, set by the harness, makes every run log at debug level; a
// script that checks default-level output clears it.
const debugEnv = "CI_SECRETS_TEST_DEBUG"

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		UpdateScripts:       *update,
		Setup: func(env *testscript.Env) error {
			dir := filepath.Join(env.WorkDir, ".transcript")
			if err := os.Mkdir(dir, 0o700); err != nil {
				return err
			}
			env.Setenv(transcriptEnv, dir)
			env.Setenv("CI_SECRETS_RETRY_INITIAL", "5ms")
			env.Setenv(debugEnv, "1")
			env.Setenv("GITHUB_ACTIONS", "")
			env.Setenv("GITHUB_STEP_SUMMARY", "")
			t := env.T()
			env.Defer(func() { checkNoLeaks(t, env.WorkDir, dir) })
			env.Values[scriptedKey{}] = &scriptedState{}
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits":      cmdExits,
			"perm":       cmdPerm,
			"githubapi":  cmdGitHubAPI,
			"nocommands": cmdNoCommands,
			// scripted.go: a hostile or stuck Secret Manager for the script.
			"scripted-server": cmdScriptedServer,
			"scripted-calls":  cmdScriptedCalls,
		},
	})
}

// cmdExits runs a program like exec and checks its exact exit status:
// `exits 2 ci-secrets sync`. Its stdout and stderr are kept for the
// following stdout/stderr checks.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE PROGRAM [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: bad code %q", args[0])
	}
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		got = ee.ExitCode()
	} else if err != nil {
		ts.Fatalf("exits: %v", err)
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}

// cmdPerm checks a file's permission bits: `perm 0600 FILE`.
func cmdPerm(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: perm MODE FILE")
	}
	want, err := strconv.ParseUint(args[0], 8, 32)
	if err != nil {
		ts.Fatalf("perm: bad mode %q", args[0])
	}
	fi, err := os.Lstat(ts.MkAbs(args[1]))
	if err != nil {
		ts.Fatalf("perm: %v", err)
	}
	got := fi.Mode().Perm()
	if (got == fs.FileMode(want)) == neg {
		ts.Fatalf("%s has mode %#o, want %s%#o", args[1], got, map[bool]string{true: "not ", false: ""}[neg], want)
	}
}

// gitHubFixture is what `githubapi FIXTURE.json` serves: the Actions secrets
// of one repository (and the organization secrets shared with it), as the
// GitHub REST API lists them.
type gitHubFixture struct {
	Repo  string `json:"repo"`  // OWNER/NAME; other repositories are 404
	Token string `json:"token"` // the only token accepted (Authorization: Bearer)
	// PageSize caps the secrets per page (GitHub honours per_page up to
	// 100); a small value makes the client follow Link: rel="next".
	PageSize   int      `json:"page_size"`
	Secrets    []string `json:"secrets"`
	OrgSecrets []string `json:"org_secrets"`
	// Status answers every request with this HTTP status (e.g. 403), and
	// OrgStatus only the organization-secrets listing; Message is the body's
	// "message".
	Status    int    `json:"status"`
	OrgStatus int    `json:"org_status"`
	Message   string `json:"message"`
	// HTML answers every request with this HTML page and status 200, as a
	// proxy or a web UI at the wrong URL would.
	HTML string `json:"html"`
}

// cmdGitHubAPI starts a local GitHub REST API for the rest of the script:
// `githubapi FIXTURE.json` serves GET /repos/OWNER/NAME/actions/secrets and
// .../actions/organization-secrets from the fixture, paging like GitHub,
// and answers 401 to any other token. It sets GITHUB_API_URL, which
// ci-secrets uses as the API base, and logs each request (method, path,
// query, whether the token matched; never the token) to githubapi.log.
func cmdGitHubAPI(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: githubapi FIXTURE.json")
	}
	var fx gitHubFixture
	if err := json.Unmarshal([]byte(ts.ReadFile(args[0])), &fx); err != nil {
		ts.Fatalf("githubapi: %s: %v", args[0], err)
	}
	if fx.Repo == "" || fx.Token == "" {
		ts.Fatalf("githubapi: %s needs \"repo\" and \"token\"", args[0])
	}
	logPath := ts.MkAbs("githubapi.log")
	var mu sync.Mutex
	logf := func(format string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return
		}
		fmt.Fprintf(f, format+"\n", a...)
		f.Close()
	}
	fail := func(w http.ResponseWriter, status int, msg string) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"message": msg, "documentation_url": "https://docs.github.com/rest"})
	}
	list := func(w http.ResponseWriter, r *http.Request, names []string) {
		per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
		if per <= 0 || per > 100 {
			per = 30
		}
		if fx.PageSize > 0 && fx.PageSize < per {
			per = fx.PageSize
		}
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		if page <= 0 {
			page = 1
		}
		start, end := min((page-1)*per, len(names)), min(page*per, len(names))
		type secret struct {
			Name      string `json:"name"`
			CreatedAt string `json:"created_at"`
			UpdatedAt string `json:"updated_at"`
		}
		out := struct {
			TotalCount int      `json:"total_count"`
			Secrets    []secret `json:"secrets"`
		}{TotalCount: len(names), Secrets: []secret{}}
		for _, n := range names[start:end] {
			out.Secrets = append(out.Secrets, secret{Name: n, CreatedAt: "2024-01-02T03:04:05Z", UpdatedAt: "2024-01-02T03:04:05Z"})
		}
		if end < len(names) {
			next := *r.URL
			q := next.Query()
			q.Set("page", strconv.Itoa(page+1))
			next.RawQuery = q.Encode()
			w.Header().Set("Link", fmt.Sprintf(`<http://%s%s>; rel="next"`, r.Host, next.String()))
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(out)
	}
	prefix := "/repos/" + fx.Repo + "/actions/"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		authOK := r.Header.Get("Authorization") == "Bearer "+fx.Token
		logf("%s %s?%s auth=%t", r.Method, r.URL.Path, r.URL.RawQuery, authOK)
		msg := fx.Message
		switch {
		case fx.HTML != "":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, fx.HTML)
		case !authOK:
			fail(w, http.StatusUnauthorized, "Bad credentials")
		case fx.Status != 0:
			fail(w, fx.Status, msg)
		case r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, prefix):
			fail(w, http.StatusNotFound, "Not Found")
		case r.URL.Path == prefix+"secrets":
			list(w, r, fx.Secrets)
		case r.URL.Path == prefix+"organization-secrets" && fx.OrgStatus != 0:
			fail(w, fx.OrgStatus, msg)
		case r.URL.Path == prefix+"organization-secrets":
			list(w, r, fx.OrgSecrets)
		default:
			fail(w, http.StatusNotFound, "Not Found")
		}
	}))
	ts.Defer(srv.Close)
	ts.Setenv("GITHUB_API_URL", srv.URL)
}

// checkNoLeaks is the global guarantee that no secret value reaches logs,
// errors or JSON output: after every script it collects every value the
// script could have served (from seed files, updated_configurations files and
// GitHub-secrets files in its work folder) and fails if any of them, or any
// line of one, appears in what ci-secrets printed, except in the
// ::add-mask:: lines whose whole purpose is to carry them to the runner.
func checkNoLeaks(t testscript.T, workDir, transcriptDir string) {
	values := map[string]string{}
	_ = filepath.WalkDir(workDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(path, transcriptDir) || !strings.HasSuffix(path, ".json") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(workDir, path)
		for _, v := range secretValues(rel, data) {
			values[v] = rel
		}
		return nil
	})
	entries, _ := os.ReadDir(transcriptDir)
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(transcriptDir, e.Name()))
		if err != nil {
			continue
		}
		var kept []string
		for _, line := range strings.Split(string(data), "\n") {
			if !strings.HasPrefix(line, "::add-mask::") {
				kept = append(kept, line)
			}
		}
		text := strings.Join(kept, "\n")
		for v, from := range values {
			if strings.Contains(text, v) {
				t.Fatal(fmt.Sprintf("secret value from %s leaked into %s of a ci-secrets run:\n%s", from, e.Name(), text))
			}
		}
	}
}

// secretValues extracts the maskable values of every payload a file holds:
// the versions of a seed file, an updated configuration, or a GitHub secrets
// JSON object (github-secrets*.json).
func secretValues(rel string, data []byte) []string {
	base := filepath.Base(rel)
	switch {
	case strings.Contains(rel, "updated_configurations"):
		return ghactions.MaskValues(data)
	case strings.HasPrefix(base, "github-secrets"):
		var m map[string]string
		if json.Unmarshal(data, &m) != nil {
			return nil
		}
		var out []string
		for _, v := range m {
			out = append(out, ghactions.MaskValues([]byte(v))...)
		}
		return out
	}
	var seed struct {
		Secrets []struct {
			Versions []struct {
				Data       *string `json:"data"`
				DataBase64 *string `json:"data_base64"`
			} `json:"versions"`
		} `json:"secrets"`
	}
	if json.Unmarshal(data, &seed) != nil || len(seed.Secrets) == 0 {
		return nil
	}
	var out []string
	for _, s := range seed.Secrets {
		for _, v := range s.Versions {
			switch {
			case v.Data != nil:
				out = append(out, payloadValues([]byte(*v.Data))...)
			case v.DataBase64 != nil:
				if raw, err := base64.StdEncoding.DecodeString(*v.DataBase64); err == nil && !bytes.ContainsRune(raw, 0) {
					out = append(out, payloadValues(raw)...)
				}
			}
		}
	}
	return out
}

// payloadValues is what must never be printed of one payload: its maskable
// values when it is JSON; when it is not (the payloads sync must refuse),
// each of its lines, so an error that quoted a refused payload is caught too.
func payloadValues(data []byte) []string {
	if json.Valid(data) {
		return ghactions.MaskValues(data)
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		// Short fragments ("{", "null") are too common in any output to be
		// evidence of a leak.
		if line = strings.TrimSpace(line); len(line) >= 6 {
			out = append(out, line)
		}
	}
	return out
}
