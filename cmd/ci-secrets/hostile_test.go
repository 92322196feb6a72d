package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/airbytehq/ci-secrets/gsm/emulator"
)

// The hostile suite: a server that sends what GSM never would (Validate:
// false), payloads no connector can read, and secrets folders in states a
// careless or malicious checkout could leave behind. Every case runs the real
// program against a real emulator on 127.0.0.1 and real folders, next to one
// healthy secret, and checks that
//   - the exit status is the documented one and the program did not crash;
//   - a failure names the secret (or connector) and says what to do;
//   - the healthy secret is still written, whole, 0600 in a 0700 folder;
//   - nothing changed anywhere in the case's temporary tree (which holds the
//     --root and an "outside" folder with sentinels) except the healthy
//     secrets folder and the paths the case names;
//   - no payload value reached the output (assertNoLeak, as runChecked does).

const (
	hostileSecret = "SECRET_SOURCE-HOSTILE_CREDS"
	hostileConn   = "source-hostile"
	fineSecret    = "SECRET_SOURCE-FINE_CREDS"
	fineConn      = "source-fine"
	sentinelText  = "sentinel: ci-secrets must never touch this file\n"
	// hostileRunTimeout bounds one run, so a hang (a FIFO opened for
	// writing, a lock) fails the case instead of the whole test binary.
	hostileRunTimeout = 30 * time.Second
)

// hostileFixture is one case's temporary tree.
type hostileFixture struct {
	tmp        string // everything the case may see; snapshotted whole
	root       string // --root
	outside    string // a sibling of root holding sentinels
	hostileDir string // the hostile connector's secrets folder
	fineDir    string // the healthy connector's secrets folder
}

func (fx hostileFixture) connectorsDir() string {
	return filepath.Join(fx.root, "airbyte-integrations", "connectors")
}

type hostileCase struct {
	name string
	// secretName is the hostile secret's ID ("" = hostileSecret).
	secretName string
	// labels of the hostile secret (nil = connector=source-hostile).
	labels map[string]string
	// versions of the hostile secret (nil = one version holding a
	// distinctive JSON object; empty = no version at all).
	versions []emulator.SeedVersion
	// args replace the default "sync --all --root ROOT" (ROOT is appended).
	args []string
	// setup shapes the tree before the snapshot is taken.
	setup func(t *testing.T, fx hostileFixture)
	// unprivileged runs the program as a user the file modes apply to.
	unprivileged bool

	code   int
	stdout []string // substrings stdout must hold
	stderr []string // substrings stderr must hold
	// allow lists paths (relative to the tree, "/"-separated) that may
	// change; one ending in "/" allows everything below it too.
	allow []string
	check func(t *testing.T, fx hostileFixture, r ran)
}

// hostileHealthy is the healthy secret's payload in case i.
func hostileHealthy(i int) string { return fmt.Sprintf(`{"k": "healthy-value-%03d"}`, i) }

// hostileValue is the hostile secret's default payload in case i.
func hostileValue(i int) string { return fmt.Sprintf(`{"k": "hostile-value-%03d"}`, i) }

func data(s string) []emulator.SeedVersion { return []emulator.SeedVersion{{Data: []byte(s)}} }

// labelFailure is a secret refused for its labels.
func labelFailure(name string, lbls map[string]string, want ...string) hostileCase {
	return hostileCase{
		name: name, labels: lbls, code: 1,
		stdout: append([]string{
			"FAILED " + hostileSecret + ": labels of " + hostileSecret + " cannot be used: ", "invalid label",
			"fix the labels in Secret Manager",
			"wrote 1 file, 1 failed",
		}, want...),
		stderr: []string{"1 secret failed: " + hostileSecret},
	}
}

// connectorLabel is a hostile connector label; want is what the message must show.
func connectorLabel(name, value string, want ...string) hostileCase {
	return labelFailure("connector label/"+name, map[string]string{"connector": value}, want...)
}

// filenameLabel is a hostile filename label on a valid connector.
func filenameLabel(name, value string, want ...string) hostileCase {
	c := labelFailure("filename label/"+name, map[string]string{"connector": hostileConn, "filename": value}, want...)
	if len(want) == 0 {
		// Quoted with non-ASCII escaped, so a look-alike cannot pass
		// for the name it imitates.
		c.stdout = append(c.stdout, fmt.Sprintf("filename label %+q may only hold a-z, 0-9, _ and -", value))
	}
	return c
}

// ignoredName is a secret whose ID does not follow SECRET_<...>_CREDS: it is
// not a CI secret at all, so it is ignored and, with --require, its
// connector is reported as having no secret.
func ignoredName(name, id string) hostileCase {
	return hostileCase{
		name: "secret name/" + name, secretName: id,
		args: []string{"sync", fineConn, hostileConn, "--require"},
		code: 1,
		stdout: []string{
			"no secret for connector " + hostileConn,
			"FAILED connector " + hostileConn + ": connector " + hostileConn + " has no secret labelled connector=" + hostileConn + " (--require); check the name against `ci-secrets list` or label its secret",
		},
		stderr: []string{"1 secret failed: connector " + hostileConn},
	}
}

// payloadFailure is a payload refused before anything is written.
func payloadFailure(name string, versions []emulator.SeedVersion, want ...string) hostileCase {
	return hostileCase{
		name: "payload/" + name, versions: versions, code: 1,
		stdout: append([]string{"FAILED " + hostileSecret + ": ", "wrote 1 file, 1 failed"}, want...),
		stderr: []string{"1 secret failed: " + hostileSecret},
	}
}

// notJSON is a payload refused as not JSON, with the hint and where the
// error is (an offset, never the text).
func notJSON(name, payload string) hostileCase {
	return payloadFailure(name, data(payload),
		hostileSecret+" version 1: payload is not valid JSON: store the connector's config JSON in the secret (", "); nothing was written")
}

// notObject is valid JSON that is no connector config: refused, naming the
// secret and what the payload is.
func notObject(name, payload, kind string) hostileCase {
	return payloadFailure(name, data(payload),
		hostileSecret+" version 1: payload is not a JSON object: it is "+kind+", and a connector config is a JSON object; store the config object itself in the secret; nothing was written")
}

// accepted is a payload or state the program writes: exit 0, the hostile
// connector's secrets folder receives exactly the payload.
func accepted(name string, versions []emulator.SeedVersion) hostileCase {
	return hostileCase{
		name: name, versions: versions, code: 0,
		stdout: []string{"wrote 2 files, 0 failed"},
		allow:  hostileFolderAllow,
		check: func(t *testing.T, fx hostileFixture, _ ran) {
			checkWritten(t, fx.hostileDir, "config.json", string(versions[len(versions)-1].Data))
		},
	}
}

// fsFailure is a secrets-folder state the writer refuses for the hostile
// secret only.
func fsFailure(name string, setup func(t *testing.T, fx hostileFixture), allow []string, want ...string) hostileCase {
	return hostileCase{
		name: "fs/" + name, setup: setup, code: 1, allow: allow,
		stdout: append([]string{"FAILED " + hostileSecret + ": ", "wrote 1 file, 1 failed"}, want...),
		stderr: []string{"1 secret failed: " + hostileSecret},
	}
}

// hostileFolderAllow lets the hostile connector's folder (and what the
// writer creates on the way) change: for cases where it is written.
var hostileFolderAllow = []string{"root/airbyte-integrations/connectors/" + hostileConn + "/"}

const hostileRel = "root/airbyte-integrations/connectors/" + hostileConn + "/secrets"

// staleTemp is named like a temporary file of a killed ci-secrets run.
const staleTemp = ".ci-secrets-config.json.0123456789abcdef.tmp"

func hostileCases() []hostileCase {
	long := strings.Repeat("a", 64)
	bigObject := func(size int) string {
		head, tail := `{"k": "hostile-value-big-`, `"}`
		return head + strings.Repeat("x", size-len(head)-len(tail)) + tail
	}
	crcBad := int64(1)
	cases := []hostileCase{
		// Connector labels: each would build a path from the label if it
		// were trusted.
		connectorLabel("dotdot slash", "../x", `connector label "../x"`, "may only hold a-z, 0-9 and -"),
		connectorLabel("dotdot", "..", `connector label ".."`),
		connectorLabel("traversal inside", "a/../../b", `connector label "a/../../b"`),
		connectorLabel("absolute", "/etc/passwd", `connector label "/etc/passwd"`),
		connectorLabel("dot", ".", `connector label "."`),
		connectorLabel("hidden", ".hidden", `connector label ".hidden"`),
		connectorLabel("with extension", "config.json", `connector label "config.json"`),
		connectorLabel("NUL", "source-a\x00b", `connector label "source-a\x00b"`),
		connectorLabel("newline", "source-a\nb", `connector label "source-a\nb"`),
		connectorLabel("tab", "source-a\tb", `connector label "source-a\tb"`),
		connectorLabel("ESC", "source-a\x1b[31mb", `connector label "source-a\x1b[31mb"`),
		connectorLabel("cyrillic a", "source-\u0430", `connector label "source-\u0430"`, "may only hold a-z, 0-9 and -"),
		connectorLabel("fullwidth solidus", "source-a\uff0fb", `connector label "source-a\uff0fb"`),
		connectorLabel("fi ligature", "source-\ufb01le", `connector label "source-\ufb01le"`),
		connectorLabel("zero-width space", "source-\u200bs3", `connector label "source-\u200bs3"`),
		connectorLabel("64 characters", long, fmt.Sprintf("connector label %q is longer than 63 characters", long)),
		connectorLabel("empty", "", "connector label is empty"),
		connectorLabel("upper case", "Source-Hostile", `connector label "Source-Hostile"`),
		connectorLabel("only underscore", "_", `connector label "_" has an empty part (a leading, trailing or doubled '_')`),
		connectorLabel("doubled underscore", "source-a__source-b", `connector label "source-a__source-b" has an empty part`),
		connectorLabel("leading underscore", "_source-a", `connector label "_source-a" has an empty part`),
		connectorLabel("trailing underscore", "source-a_", `connector label "source-a_" has an empty part`),
		connectorLabel("leading dash", "-source-a", `connector name "-source-a" must not start or end with '-'`),
		connectorLabel("hostile part of a list", hostileConn+"_..", `connector label "source-hostile_.."`),
		connectorLabel("space", "source a", `connector label "source a"`),
		connectorLabel("backslash", `source-a\..\b`, `connector label "source-a\\..\\b"`),

		// Filename labels, on a valid connector.
		filenameLabel("dotdot slash", "../x"),
		filenameLabel("dotdot", ".."),
		filenameLabel("traversal inside", "a/../../b"),
		filenameLabel("absolute", "/etc/passwd"),
		filenameLabel("dot", "."),
		filenameLabel("with extension", "config.json"),
		filenameLabel("hidden", ".hidden"),
		filenameLabel("NUL", "a\x00b"),
		filenameLabel("newline", "a\nb"),
		filenameLabel("tab", "a\tb"),
		filenameLabel("ESC", "a\x1bb"),
		filenameLabel("cyrillic a", "\u0430pi"),
		filenameLabel("cyrillic es", "\u0441onfig"),
		filenameLabel("fullwidth solidus", "a\uff0fb"),
		filenameLabel("division slash", "\u2215etc\u2215passwd"),
		filenameLabel("fi ligature", "\ufb01le"),
		filenameLabel("zero-width space", "con\u200bfig"),
		filenameLabel("upper case", "Config"),
		filenameLabel("backslash", `..\x`),
		filenameLabel("tilde", "~"),
		filenameLabel("64 characters", long, fmt.Sprintf("filename label %q is longer than 63 characters", long)),
		filenameLabel("empty", "", "filename label is empty"),

		// A label key that is not exactly "connector" leaves the secret
		// unlabelled: it belongs to no connector, a warning names it, and
		// a run over all connectors still succeeds.
		{
			name: "label key/upper case", labels: map[string]string{"Connector": hostileConn},
			code: 0, stdout: []string{"wrote 1 file, 0 failed"},
			stderr: []string{hostileSecret, "no connector label", "add connector=<name>"},
		},

		// Secret IDs: the convention decides what is a CI secret; anything
		// else is ignored, however it is labelled.
		ignoredName("lower case", "secret_source-hostile_creds"),
		ignoredName("nothing between", "SECRET__CREDS"),
		ignoredName("dots", "SECRET_SOURCE.HOSTILE_CREDS"),
		ignoredName("dotdot", "SECRET_.._CREDS"),
		ignoredName("trailing newline", "SECRET_SOURCE-HOSTILE_CREDS\n"),
		ignoredName("cyrillic O", "SECRET_S\u041eURCE-HOSTILE_CREDS"),
		ignoredName("prefixed", "XSECRET_SOURCE-HOSTILE_CREDS"),
		ignoredName("truncated suffix", "SECRET_SOURCE-HOSTILE_CRED"),
		ignoredName("space", "SECRET_SOURCE HOSTILE_CREDS"),
		// An ID over GSM's 255 characters that follows the convention is
		// a CI secret like any other: its name never reaches a path.
		func() hostileCase {
			c := accepted("secret name/300 characters", data(`{"k": "hostile-value-longname"}`))
			c.secretName = "SECRET_" + strings.Repeat("A", 300) + "_CREDS"
			c.args = []string{"sync", fineConn, hostileConn, "--require"}
			return c
		}(),

		// Payloads.
		notJSON("plain text", "hostile-value-plain-text"),
		notJSON("empty", ""),
		notJSON("whitespace only", " \n\t "),
		notJSON("byte order mark", "\ufeff"+`{"k": "hostile-value-bom"}`),
		notJSON("trailing garbage", `{"k": "hostile-value-trailing"} trailing`),
		notJSON("two documents", `{"k": "hostile-value-first"}{"k": "hostile-value-second"}`),
		notJSON("raw NUL in a string", "{\"k\": \"hostile-value\x00nul\"}"),
		notJSON("65536 unclosed brackets", strings.Repeat("[", 64*1024)),
		notJSON("nested 20000 deep", strings.Repeat("[", 20000)+`"hostile-value-deep"`+strings.Repeat("]", 20000)),
		payloadFailure("invalid UTF-8", data("{\"k\": \"hostile-value-\xff\xfe-utf8\"}"),
			hostileSecret+" version 1: payload is not valid JSON: it is not valid UTF-8; nothing was written"),
		payloadFailure("64 KiB + 1", data(bigObject(64*1024+1)),
			hostileSecret+" version 1: payload is larger than GSM's 64 KiB limit (65537 bytes); nothing was written"),
		// Over the payload limit plus envelope: gRPC refuses the answer unread.
		payloadFailure("100k brackets", data(strings.Repeat("[", 100_000)),
			"read "+hostileSecret+" version latest: the server sent an answer Secret Manager never sends", "more than GSM's 64 KiB payload limit allows; it was refused unread and nothing was written"),
		payloadFailure("CRC32C mismatch", []emulator.SeedVersion{{Data: []byte(hostileValue(0)), CRC32C: &crcBad}},
			"read "+hostileSecret+" version 1: payload failed its CRC32C check (server sent 1, data hashes to", "nothing was written"),
		payloadFailure("no version", []emulator.SeedVersion{},
			"read "+hostileSecret+" version latest: not found", "the secret has no version, or was deleted after it was listed; add a version to it, or run again"),
		payloadFailure("only a disabled version", []emulator.SeedVersion{{Data: []byte(hostileValue(0)), State: "DISABLED"}},
			"no older version is enabled; enable a version or add a new one"),
		payloadFailure("only a destroyed version", []emulator.SeedVersion{{State: "DESTROYED"}},
			"no older version is enabled; enable a version or add a new one"),
		// JSON that is not an object is JSON: CheckPayload accepts any
		// valid JSON value, as docs/cli.md asks ("a payload that is not
		// JSON ... is not written"), so these are written.
		notObject("JSON string", `"hostile-value-json-string"`, "a string"),
		notObject("JSON array", `["hostile-value-json-array"]`, "an array"),
		notObject("JSON null", `null`, "null"),
		notObject("JSON number", `12345678901234567890e999`, "a number"),
		notObject("JSON boolean", ` true `, "a boolean"),
		accepted("payload/exactly 64 KiB", data(bigObject(64*1024))),
		// A disabled latest version that is not JSON is never read: the
		// newest enabled one is written.
		func() hostileCase {
			c := accepted("payload/latest disabled, older enabled", []emulator.SeedVersion{
				{Data: []byte(`{"k": "hostile-value-older"}`)},
				{Data: []byte(`not json hostile-value-newer`), State: "DISABLED"},
			})
			c.check = func(t *testing.T, fx hostileFixture, _ ran) {
				checkWritten(t, fx.hostileDir, "config.json", `{"k": "hostile-value-older"}`)
			}
			return c
		}(),
	}
	return append(cases, fsCases()...)
}

func fsCases() []hostileCase {
	decoy := func(t *testing.T, path string) {
		t.Helper()
		mustMkdir(t, filepath.Dir(path), 0o755)
		mustWrite(t, path, sentinelText, 0o644)
	}
	return []hostileCase{
		fsFailure("target is a symlink to a file outside", func(t *testing.T, fx hostileFixture) {
			decoy(t, filepath.Join(fx.outside, "target.json"))
			mustMkdir(t, fx.hostileDir, 0o700)
			mustSymlink(t, filepath.Join(fx.outside, "target.json"), filepath.Join(fx.hostileDir, "config.json"))
		}, []string{hostileRel + "/.gitignore"},
			hostileRel+"/config.json is a symlink; ci-secrets refuses to write through links: delete the link and run again"),
		fsFailure("target is a dangling symlink out of the tree", func(t *testing.T, fx hostileFixture) {
			mustMkdir(t, fx.hostileDir, 0o700)
			mustSymlink(t, filepath.Join(fx.outside, "created-through-link.json"), filepath.Join(fx.hostileDir, "config.json"))
		}, []string{hostileRel + "/.gitignore"},
			"config.json is a symlink", "delete the link and run again"),
		fsFailure("secrets folder is a symlink", func(t *testing.T, fx hostileFixture) {
			decoy(t, filepath.Join(fx.outside, "linked", "config.json"))
			mustWrite(t, filepath.Join(fx.outside, "linked", staleTemp), sentinelText, 0o600)
			mustMkdir(t, filepath.Dir(fx.hostileDir), 0o755)
			mustSymlink(t, filepath.Join(fx.outside, "linked"), fx.hostileDir)
		}, nil, "secrets folder "+hostileRel+" is a symlink; ci-secrets refuses to write through links: replace it with a real folder"),
		fsFailure("secrets folder is a dangling symlink", func(t *testing.T, fx hostileFixture) {
			mustMkdir(t, filepath.Dir(fx.hostileDir), 0o755)
			mustSymlink(t, filepath.Join(fx.outside, "made-through-link"), fx.hostileDir)
		}, nil, "is a symlink", "replace it with a real folder"),
		fsFailure("secrets folder is a file", func(t *testing.T, fx hostileFixture) {
			decoy(t, fx.hostileDir)
		}, nil, "secrets folder "+hostileRel+" exists but is a file; ci-secrets writes only into real folders: move it away and run again"),
		fsFailure("secrets folder is a FIFO", func(t *testing.T, fx hostileFixture) {
			mustMkdir(t, filepath.Dir(fx.hostileDir), 0o755)
			mustMkfifo(t, fx.hostileDir)
		}, nil, "exists but is a named pipe", "move it away and run again"),
		fsFailure("connector folder is a symlink", func(t *testing.T, fx hostileFixture) {
			victim := filepath.Join(fx.outside, "victim")
			decoy(t, filepath.Join(victim, "secrets", "config.json"))
			// Named like a temporary file of a killed run: the clean-up
			// before writing must not reach it through the link.
			mustWrite(t, filepath.Join(victim, "secrets", staleTemp), sentinelText, 0o600)
			mustMkdir(t, fx.connectorsDir(), 0o755)
			mustSymlink(t, victim, filepath.Join(fx.connectorsDir(), hostileConn))
		}, nil, "folder root/airbyte-integrations/connectors/"+hostileConn+" is a symlink; ci-secrets refuses to write through links: replace it with a real folder"),
		fsFailure("connector folder is a file", func(t *testing.T, fx hostileFixture) {
			decoy(t, filepath.Join(fx.connectorsDir(), hostileConn))
		}, nil, "folder root/airbyte-integrations/connectors/"+hostileConn+" exists but is a file; ci-secrets writes only into real folders: move it away and run again"),
		fsFailure("target is a folder", func(t *testing.T, fx hostileFixture) {
			decoy(t, filepath.Join(fx.hostileDir, "config.json", "inside.json"))
			mustChmod(t, fx.hostileDir, 0o700)
		}, []string{hostileRel + "/.gitignore"},
			hostileRel+"/config.json exists but is a folder; ci-secrets replaces only regular files: move it away and run again"),
		fsFailure("target is a FIFO", func(t *testing.T, fx hostileFixture) {
			mustMkdir(t, fx.hostileDir, 0o700)
			mustMkfifo(t, filepath.Join(fx.hostileDir, "config.json"))
		}, []string{hostileRel + "/.gitignore"},
			hostileRel+"/config.json exists but is a named pipe; ci-secrets replaces only regular files: move it away and run again"),
		func() hostileCase {
			c := fsFailure("read-only secrets folder", func(t *testing.T, fx hostileFixture) {
				mustMkdir(t, fx.hostileDir, 0o500)
			}, nil, "cannot create a temporary file in", "permission denied: check that you may write there (owner and mode of the folder)")
			c.unprivileged = true
			c.check = func(t *testing.T, fx hostileFixture, _ ran) { checkMode(t, fx.hostileDir, 0o500) }
			return c
		}(),
		{
			name: "fs/existing target 0644 ends 0600",
			setup: func(t *testing.T, fx hostileFixture) {
				mustMkdir(t, fx.hostileDir, 0o700)
				mustWrite(t, filepath.Join(fx.hostileDir, "config.json"), `{"old": "stale-content"}`, 0o644)
			},
			code: 0, stdout: []string{"wrote 2 files (1 replaced), 0 failed"}, allow: hostileFolderAllow,
			check: func(t *testing.T, fx hostileFixture, r ran) {
				checkWritten(t, fx.hostileDir, "config.json", hostileValueOf(t, fx))
				if want := "\nreplaced " + filepath.Join(fx.hostileDir, "config.json") + " ("; !strings.Contains(r.stdout, want) {
					t.Errorf("stdout lacks %q", want)
				}
			},
		},
		{
			name: "fs/existing secrets folder 0777 ends 0700",
			setup: func(t *testing.T, fx hostileFixture) {
				mustMkdir(t, fx.hostileDir, 0o777)
			},
			code: 0, stdout: []string{"wrote 2 files, 0 failed"}, allow: hostileFolderAllow,
			check: func(t *testing.T, fx hostileFixture, _ ran) {
				checkWritten(t, fx.hostileDir, "config.json", hostileValueOf(t, fx))
			},
		},
		{
			name: "fs/target hard-linked to a file outside",
			setup: func(t *testing.T, fx hostileFixture) {
				decoy(t, filepath.Join(fx.outside, "hardlinked.json"))
				mustMkdir(t, fx.hostileDir, 0o700)
				if err := os.Link(filepath.Join(fx.outside, "hardlinked.json"), filepath.Join(fx.hostileDir, "config.json")); err != nil {
					t.Skipf("no hard links here: %v", err)
				}
			},
			// The target is replaced by rename; the outside inode keeps
			// its content (the snapshot checks it).
			code: 0, stdout: []string{"wrote 2 files (1 replaced), 0 failed"}, allow: hostileFolderAllow,
			check: func(t *testing.T, fx hostileFixture, _ ran) {
				checkWritten(t, fx.hostileDir, "config.json", hostileValueOf(t, fx))
			},
		},
		// git does not read a .gitignore that is a symlink (nor a folder),
		// so it protects nothing: refused, named, nothing written there.
		fsFailure(".gitignore is a symlink to a file outside", func(t *testing.T, fx hostileFixture) {
			decoy(t, filepath.Join(fx.outside, "gitignore"))
			mustMkdir(t, fx.hostileDir, 0o700)
			mustSymlink(t, filepath.Join(fx.outside, "gitignore"), filepath.Join(fx.hostileDir, ".gitignore"))
		}, nil, hostileRel+"/.gitignore is a symlink, and git does not read a .gitignore that is a symlink",
			"replace it with a regular file holding *"),
		fsFailure(".gitignore is a symlink inside the folder", func(t *testing.T, fx hostileFixture) {
			mustMkdir(t, fx.hostileDir, 0o700)
			mustWrite(t, filepath.Join(fx.hostileDir, "ignore-me"), "*\n", 0o644)
			mustSymlink(t, "ignore-me", filepath.Join(fx.hostileDir, ".gitignore"))
		}, nil, hostileRel+"/.gitignore is a symlink, and git does not read"),
		fsFailure(".gitignore is a dangling symlink", func(t *testing.T, fx hostileFixture) {
			mustMkdir(t, fx.hostileDir, 0o700)
			mustSymlink(t, "nowhere", filepath.Join(fx.hostileDir, ".gitignore"))
		}, nil, hostileRel+"/.gitignore is a symlink that leads nowhere"),
		fsFailure(".gitignore is a folder", func(t *testing.T, fx hostileFixture) {
			mustMkdir(t, filepath.Join(fx.hostileDir, ".gitignore"), 0o700)
		}, nil, hostileRel+"/.gitignore is a folder, not a file, so it keeps nothing out of a commit"),
		{
			// A regular .gitignore that ignores something else: the file
			// is written, and a warning says what line to add.
			name: "fs/.gitignore that does not ignore the file",
			setup: func(t *testing.T, fx hostileFixture) {
				mustMkdir(t, fx.hostileDir, 0o700)
				mustWrite(t, filepath.Join(fx.hostileDir, ".gitignore"), "*.json\n!config.json\n", 0o644)
			},
			code: 0, stdout: []string{"wrote 2 files, 0 failed"}, allow: []string{hostileRel + "/config.json"},
			stderr: []string{hostileRel + "/.gitignore does not make git ignore config.json, so `git add` would commit the secret: add a line config.json (or * to ignore everything in the folder) to it"},
			check: func(t *testing.T, fx hostileFixture, _ ran) {
				checkFile(t, filepath.Join(fx.hostileDir, "config.json"), hostileValueOf(t, fx), 0o600)
			},
		},
		{
			// A file already holding the secret is left as it is (same
			// inode), only its mode narrowed.
			name: "fs/existing target equal to the secret, 0644",
			setup: func(t *testing.T, fx hostileFixture) {
				mustMkdir(t, fx.hostileDir, 0o700)
				mustWrite(t, filepath.Join(fx.hostileDir, "config.json"), hostileValueOf(t, fx), 0o644)
			},
			code: 0, stdout: []string{"wrote 1 file, 1 unchanged, 0 failed"}, allow: hostileFolderAllow,
			check: func(t *testing.T, fx hostileFixture, r ran) {
				checkWritten(t, fx.hostileDir, "config.json", hostileValueOf(t, fx))
				if want := "\nunchanged " + filepath.Join(fx.hostileDir, "config.json") + " ("; !strings.Contains(r.stdout, want) {
					t.Errorf("stdout lacks %q", want)
				}
			},
		},
		{
			name: "fs/stale temporary file of a killed run",
			setup: func(t *testing.T, fx hostileFixture) {
				mustMkdir(t, fx.hostileDir, 0o700)
				mustWrite(t, filepath.Join(fx.hostileDir, staleTemp), `{"k": "partial`, 0o600)
				mustWrite(t, filepath.Join(fx.hostileDir, ".ci-secrets-notes.txt"), sentinelText, 0o600)
			},
			// Exactly ours is removed; the look-alike is kept (it is not
			// in allow).
			code: 0, stdout: []string{"wrote 2 files, 0 failed"},
			allow: []string{hostileRel + "/" + staleTemp, hostileRel + "/config.json", hostileRel + "/.gitignore"},
			check: func(t *testing.T, fx hostileFixture, _ ran) {
				if _, err := os.Lstat(filepath.Join(fx.hostileDir, staleTemp)); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("stale temporary file was not removed: %v", err)
				}
				checkWritten(t, fx.hostileDir, "config.json", hostileValueOf(t, fx))
			},
		},
		{
			name: "fs/bases folder is a symlink",
			setup: func(t *testing.T, fx hostileFixture) {
				decoy(t, filepath.Join(fx.outside, "base", "secrets", "config.json"))
				bases := filepath.Join(fx.root, "airbyte-integrations", "bases")
				mustMkdir(t, bases, 0o755)
				mustSymlink(t, filepath.Join(fx.outside, "base"), filepath.Join(bases, hostileConn))
			},
			// A linked bases/<connector> is refused, not followed and not
			// silently bypassed for connectors/ (which would hide the file
			// from the base behind the link).
			// The reason is printed once, in the FAILED line of the summary.
			code: 1, stdout: []string{"wrote 1 file, 1 failed", "bases/" + hostileConn + " is a symlink; ci-secrets refuses to write through links"},
			stderr: []string{"1 secret failed: " + hostileSecret},
			check: func(t *testing.T, fx hostileFixture, _ ran) {
				if _, err := os.Lstat(fx.hostileDir); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("connectors/ folder was created for a linked base: %v", err)
				}
			},
		},
	}
}

// hostileValueOf is the hostile payload of the fixture's case, recorded
// in the tree by runHostileCase.
func hostileValueOf(t *testing.T, fx hostileFixture) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(filepath.Dir(fx.tmp), "payload"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHostile(t *testing.T) {
	cases := hostileCases()
	counts := map[string]int{}
	seen := map[string]bool{}
	for _, c := range cases {
		if seen[c.name] {
			t.Fatalf("duplicate case %q", c.name)
		}
		seen[c.name] = true
		counts[strings.SplitN(c.name, "/", 2)[0]]++
	}
	t.Logf("cases per category: %v", counts)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			runHostileCase(t, i, c)
		})
	}
}

func runHostileCase(t *testing.T, i int, c hostileCase) {
	// The case's tree: <base>/payload (the hostile payload, for checks)
	// and <base>/tree, which the program may see.
	base := hostileTempDir(t, c.unprivileged)
	fx := hostileFixture{tmp: filepath.Join(base, "tree")}
	fx.root = filepath.Join(fx.tmp, "root")
	fx.outside = filepath.Join(fx.tmp, "outside")
	fx.hostileDir = filepath.Join(fx.connectorsDir(), hostileConn, "secrets")
	fx.fineDir = filepath.Join(fx.connectorsDir(), fineConn, "secrets")
	mustMkdir(t, fx.root, 0o755)
	mustWrite(t, filepath.Join(fx.outside, "sentinel.json"), sentinelText, 0o644)
	mustWrite(t, filepath.Join(fx.tmp, "outside.json"), sentinelText, 0o600)

	versions := c.versions
	if versions == nil {
		versions = data(hostileValue(i))
	}
	if len(versions) > 0 {
		mustWrite(t, filepath.Join(base, "payload"), string(versions[len(versions)-1].Data), 0o600)
	}
	hostile := emulator.SeedSecret{Name: c.secretName, Labels: c.labels, Versions: versions}
	if hostile.Name == "" {
		hostile.Name = hostileSecret
	}
	if hostile.Labels == nil {
		hostile.Labels = map[string]string{"connector": hostileConn}
	}
	validate := false
	seed := &emulator.Seed{Project: "test-project", Validate: &validate, Secrets: []emulator.SeedSecret{
		{Name: fineSecret, Labels: map[string]string{"connector": fineConn}, Versions: data(hostileHealthy(i))},
		hostile,
	}}
	addr, _ := emulator.StartForTest(t, seed, emulator.Options{})

	if c.setup != nil {
		c.setup(t, fx)
	}
	before := hostileSnapshot(t, fx.tmp)

	args := c.args
	if args == nil {
		args = []string{"sync", "--all"}
	}
	args = append(append([]string{}, args...), "--root", fx.root)
	r := runHostile(t, addr, seed, fx, c.unprivileged, args...)
	report := fmt.Sprintf("ci-secrets %q exited %d\nstdout:\n%s\nstderr:\n%s", args, r.code, r.stdout, r.stderr)

	for _, crash := range []string{"panic:", "goroutine ", "DATA RACE", "fatal error:", "SIGSEGV"} {
		if strings.Contains(r.stderr, crash) || strings.Contains(r.stdout, crash) {
			t.Fatalf("the program crashed (%q):\n%s", crash, report)
		}
	}
	if r.code != c.code {
		t.Errorf("exit status %d, want %d\n%s", r.code, c.code, report)
	}
	for _, want := range c.stdout {
		// "root/..." in a want stands for the absolute path under --root.
		want = strings.ReplaceAll(want, "folder root/", "folder "+fx.root+"/")
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q\n%s", want, report)
		}
	}
	for _, want := range c.stderr {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q\n%s", want, report)
		}
	}
	// The healthy secret is written whatever happened to the hostile one.
	checkWritten(t, fx.fineDir, "config.json", hostileHealthy(i))
	if c.check != nil {
		c.check(t, fx, r)
	}

	// Nothing changed outside the healthy secrets folder (and the folders
	// on its way) except what the case allows.
	allow := append([]string{
		"root/airbyte-integrations",
		"root/airbyte-integrations/connectors",
		"root/airbyte-integrations/connectors/" + fineConn,
		"root/airbyte-integrations/connectors/" + fineConn + "/secrets",
		"root/airbyte-integrations/connectors/" + fineConn + "/secrets/.gitignore",
		"root/airbyte-integrations/connectors/" + fineConn + "/secrets/config.json",
	}, c.allow...)
	for _, d := range diffSnapshots(before, hostileSnapshot(t, fx.tmp)) {
		if !allowed(d.path, allow) {
			t.Errorf("%s changed outside what the case allows: %s\n%s", d.path, d.how, report)
		}
	}
}

// hostileTempDir returns a fresh folder for a case. For an unprivileged run
// it is reachable by that user (t.TempDir's parent is 0700).
func hostileTempDir(t *testing.T, unprivileged bool) string {
	t.Helper()
	if !unprivileged {
		return t.TempDir()
	}
	dir, err := os.MkdirTemp("", "ci-secrets-hostile-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Undo read-only modes so the folder can be removed.
		_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				_ = os.Chmod(p, 0o700)
			}
			return nil
		})
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("clean up: %v", err)
		}
	})
	mustChmod(t, dir, 0o755)
	return dir
}

// nobody is the user an unprivileged case runs as when the test runs as
// root, which file modes do not bind.
const nobody = 65534

// runHostile runs the real program as runChecked does (debug log level, no
// payload value in any output) in the case's tree, with a time limit, and
// for an unprivileged case as a user the file modes bind.
func runHostile(t *testing.T, addr string, seed *emulator.Seed, fx hostileFixture, unprivileged bool, args ...string) ran {
	t.Helper()
	cmd := program(t, addr, append([]string{"--log-level=debug"}, args...)...)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Path, cmd.Args[0] = exe, exe
	// A relative path built by mistake would land in the snapshot.
	cmd.Dir = fx.tmp
	if unprivileged && os.Geteuid() == 0 {
		// Root ignores a folder's mode: run as nobody instead, from a copy
		// of this binary nobody can reach, in a tree nobody owns.
		cmd.Path = hostileExecutableFor(t, exe, filepath.Dir(fx.tmp))
		cmd.Args[0] = cmd.Path
		if err := chownTree(fx.tmp, nobody); err != nil {
			t.Skipf("cannot hand the tree to uid %d (%v); a read-only folder cannot be tested as root", nobody, err)
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		if cmd.SysProcAttr != nil {
			t.Skipf("cannot run the program as uid %d (%v); root bypasses folder modes, so a read-only folder cannot be tested", nobody, err)
		}
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(hostileRunTimeout):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("ci-secrets %q hung for %s\nstdout:\n%s\nstderr:\n%s", args, hostileRunTimeout, stdout.String(), stderr.String())
	}
	r := ran{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
		if r.code < 0 {
			t.Fatalf("ci-secrets %q was killed by %v\nstderr:\n%s", args, ee, r.stderr)
		}
	case err != nil:
		t.Fatalf("run ci-secrets %q: %v", args, err)
	}
	assertNoLeak(t, seedValues(seed), r.stdout, r.stderr)
	return r
}

// hostileExecutableFor hard-links (or copies) the test binary into dir,
// which another user can reach.
func hostileExecutableFor(t *testing.T, exe, dir string) string {
	t.Helper()
	dst := filepath.Join(dir, "ci-secrets.test")
	if err := os.Link(exe, dst); err == nil {
		return dst
	}
	src, err := os.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, src); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}

func chownTree(dir string, uid int) error {
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, uid)
	})
}

// hostileEntry is what the snapshot keeps of one path.
type hostileEntry struct {
	mode fs.FileMode // type and permission bits
	data string      // content of a regular file
	link string      // target of a symlink
}

// hostileSnapshot records every path below dir without following links or
// opening anything but regular files (a FIFO is never opened).
func hostileSnapshot(t *testing.T, dir string) map[string]hostileEntry {
	t.Helper()
	out := map[string]hostileEntry{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		e := hostileEntry{mode: fi.Mode()}
		switch {
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			e.data = string(b)
		case fi.Mode()&fs.ModeSymlink != 0:
			if e.link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = e
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot %s: %v", dir, err)
	}
	return out
}

type hostileDiff struct{ path, how string }

func diffSnapshots(before, after map[string]hostileEntry) []hostileDiff {
	var out []hostileDiff
	for p, b := range before {
		a, ok := after[p]
		switch {
		case !ok:
			out = append(out, hostileDiff{p, "removed"})
		case a.mode != b.mode:
			out = append(out, hostileDiff{p, fmt.Sprintf("mode %v -> %v", b.mode, a.mode)})
		case a.data != b.data:
			out = append(out, hostileDiff{p, fmt.Sprintf("content changed (%d -> %d bytes)", len(b.data), len(a.data))})
		case a.link != b.link:
			out = append(out, hostileDiff{p, fmt.Sprintf("link %q -> %q", b.link, a.link)})
		}
	}
	for p, a := range after {
		if _, ok := before[p]; !ok {
			out = append(out, hostileDiff{p, fmt.Sprintf("created (%v)", a.mode)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out
}

func allowed(path string, allow []string) bool {
	for _, a := range allow {
		if path == a || strings.HasSuffix(a, "/") && (path == strings.TrimSuffix(a, "/") || strings.HasPrefix(path, a)) {
			return true
		}
	}
	return false
}

// checkWritten checks a secrets folder holding file with want: the file
// 0600, the folder 0700 with a .gitignore of "*".
func checkWritten(t *testing.T, dir, file, want string) {
	t.Helper()
	checkFile(t, filepath.Join(dir, file), want, 0o600)
	checkMode(t, dir, 0o700|fs.ModeDir)
	checkFile(t, filepath.Join(dir, ".gitignore"), "*\n", 0o644)
}

func checkFile(t *testing.T, path, want string, mode fs.FileMode) {
	t.Helper()
	checkMode(t, path, mode)
	got, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("%v", err)
		return
	}
	if string(got) != want {
		t.Errorf("%s holds %d bytes, not the %d expected", path, len(got), len(want))
	}
}

// checkMode compares type and permission bits (a bare permission means a
// regular file when mode has no type bit and the path is not a folder).
func checkMode(t *testing.T, path string, mode fs.FileMode) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Errorf("%v", err)
		return
	}
	got := fi.Mode()
	if fi.IsDir() && mode.Type() == 0 {
		got = got.Perm()
	}
	if got != mode {
		t.Errorf("%s has mode %v, want %v", path, got, mode)
	}
}

func mustMkdir(t *testing.T, dir string, mode fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	mustChmod(t, dir, mode)
}

func mustWrite(t *testing.T, path, content string, mode fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	mustChmod(t, path, mode)
}

func mustChmod(t *testing.T, path string, mode fs.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func mustMkfifo(t *testing.T, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("cannot make a FIFO here: %v", err)
	}
}
