// Package secretsync runs a sync: it matches the listed CI secrets against the
// connectors asked for, reads each needed secret once with bounded
// concurrency, checks every payload, masks its values, and has the writer put
// it in place. It owns the error aggregation (one failing secret never stops
// the others) but neither talks to GSM directly nor touches files itself:
// both come in as narrow dependencies.
package secretsync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/rs/zerolog"

	"github.com/airbytehq/ci-secrets/gsm"
	"github.com/airbytehq/ci-secrets/internal/suggest"
	"github.com/airbytehq/ci-secrets/labels"
	"github.com/airbytehq/ci-secrets/writer"
)

// DefaultConcurrency keeps one HTTP/2 connection busy (about 100 streams fit)
// without queueing; MaxConcurrency bounds what a flag may ask for.
const (
	DefaultConcurrency = 32
	MaxConcurrency     = 256
)

// Errors callers branch on.
var (
	ErrNotJSON   = errors.New("payload is not valid JSON")
	ErrNotObject = errors.New("payload is not a JSON object")
	ErrTooLarge  = errors.New("payload is larger than GSM's 64 KiB limit")
)

// Source reads a secret's newest enabled version.
type Source interface {
	Access(ctx context.Context, secretID string) (*gsm.Payload, error)
}

// Destination decides where a connector's files go and writes them whole.
type Destination interface {
	SecretsDir(connector string) (string, error)
	Prepare(ctx context.Context, dir string) error
	Write(ctx context.Context, dir, file string, data []byte) (writer.Written, error)
}

// Options is one sync request.
type Options struct {
	Connectors  []string // normalised connector names
	All         bool
	DryRun      bool // plan only: no payload read, nothing written
	Require     bool // a named connector without a secret is a failure
	Concurrency int
	// Mask receives every value of a payload before it is written or could
	// reach any output; nil disables masking.
	Mask func(payload []byte) error
	// Progress, when set, is told how many of the secrets to read are done:
	// once with done 0 before the first read, then after each secret
	// (written or failed). Calls may come from several goroutines.
	Progress func(done, total int)
	// Skip, with All, leaves out the connectors it returns true for (those
	// not in the checkout): nothing is read or written for them, and they
	// are listed in Result.Skipped.
	Skip func(connector string) bool
}

// File is a file written, or that would be written in a dry run.
type File struct {
	Connector string `json:"connector"`
	Secret    string `json:"secret"`
	Path      string `json:"path"`
	Version   string `json:"version,omitempty"`
	// Status is what the write did: wrote (a new file), replaced (the file
	// held something else, e.g. a hand edit) or unchanged (it already held
	// the secret). Empty for a planned file.
	Status writer.Status `json:"status,omitempty"`
}

// Failure is one secret (or connector) that could not be synced.
type Failure struct {
	Secret    string `json:"secret,omitempty"`
	Connector string `json:"connector,omitempty"`
	Err       error  `json:"-"`
}

// MarshalJSON renders the error as text; errors never hold payload bytes.
func (f Failure) MarshalJSON() ([]byte, error) {
	type plain Failure
	return json.Marshal(struct {
		plain
		Error string `json:"error"`
	}{plain(f), f.Err.Error()})
}

// Result is what a sync did.
type Result struct {
	DryRun  bool      `json:"dry_run"`
	Written []File    `json:"written"`
	Planned []File    `json:"planned,omitempty"`
	Failed  []Failure `json:"failed"`
	Missing []string  `json:"missing"` // connectors asked for that no secret serves
	Skipped []string  `json:"skipped"` // connectors --all left out (Options.Skip)
	// Suggestions maps a missing connector to the listed connector names
	// closest to it, for "did you mean ...?".
	Suggestions map[string][]string `json:"suggestions,omitempty"`
}

// OK reports whether every secret was synced.
func (r *Result) OK() bool { return len(r.Failed) == 0 }

// job is one secret to read and every file it becomes.
type job struct {
	secret  string
	targets []placed
}

type placed struct {
	labels.Target
	dir string
}

// Run syncs entries (the project's classified CI secrets) as opts asks. It
// returns an error only when the run as a whole was stopped (context
// cancelled); per-secret problems are in Result.Failed.
func Run(ctx context.Context, src Source, dst Destination, entries []labels.Entry, opts Options) (*Result, error) {
	log := zerolog.Ctx(ctx)
	plan := labels.PlanFor(entries, opts.Connectors, opts.All)
	res := &Result{DryRun: opts.DryRun, Written: []File{}, Failed: []Failure{}, Missing: []string{}, Skipped: []string{}}
	if opts.All && opts.Skip != nil {
		plan.Writes, res.Skipped = skipWrites(plan.Writes, opts.Skip)
	}

	for _, e := range plan.Invalid {
		res.Failed = append(res.Failed, Failure{Secret: e.Secret, Err: fmt.Errorf("labels of %s cannot be used: %w; fix the labels in Secret Manager", e.Secret, e.Problem)})
	}
	for _, e := range plan.Unlabelled {
		log.Warn().Str("secret", e.Secret).Msg("secret has no connector label, so no connector receives it; add connector=<name> to sync it")
	}
	for _, c := range plan.Conflicts {
		for _, sec := range c.Secrets {
			res.Failed = append(res.Failed, Failure{Secret: sec, Connector: c.Target.Connector, Err: c})
		}
	}
	known := knownConnectors(entries)
	for _, m := range plan.Missing {
		res.Missing = append(res.Missing, m)
		near := suggest.Closest(m, known)
		hint := suggest.DidYouMean(m, known)
		if len(near) > 0 {
			if res.Suggestions == nil {
				res.Suggestions = map[string][]string{}
			}
			res.Suggestions[m] = near
		}
		if opts.Require {
			res.Failed = append(res.Failed, Failure{Connector: m, Err: fmt.Errorf("connector %s has no secret labelled connector=%s (--require)%s; check the name against `ci-secrets list` or label its secret", m, m, hint)})
		} else {
			log.Warn().Str("connector", m).Msg("no secret is labelled with this connector" + hint + ", so nothing was written for it; check the name against `ci-secrets list`, or pass --require to make this a failure")
		}
	}

	jobs, prepFailures := placeAll(ctx, dst, plan.Writes, opts.DryRun)
	res.Failed = append(res.Failed, prepFailures...)

	if opts.DryRun {
		for _, j := range jobs {
			for _, t := range j.targets {
				res.Planned = append(res.Planned, File{Connector: t.Connector, Secret: j.secret, Path: joinPath(t.dir, t.File)})
			}
		}
		sortResult(res)
		return res, ctx.Err()
	}

	n := opts.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	n = min(n, len(jobs))
	// Reads and writes run in two pools, so a read slot is free again as soon
	// as its payload is in hand: the network stays busy while the disk syncs.
	// At most 2n payloads (plus n waiting for a writer) are held at once.
	work := make(chan job)
	fetched := make(chan read)
	var mu sync.Mutex
	record := func(written []File, failed []Failure) {
		mu.Lock()
		res.Written = append(res.Written, written...)
		res.Failed = append(res.Failed, failed...)
		mu.Unlock()
	}
	var finished int
	progress := func() {}
	if opts.Progress != nil {
		opts.Progress(0, len(jobs))
		progress = func() {
			mu.Lock()
			finished++
			d := finished
			mu.Unlock()
			opts.Progress(d, len(jobs))
		}
	}
	var readers, writers sync.WaitGroup
	for range n {
		readers.Go(func() {
			for j := range work {
				p, failed := fetch(ctx, src, j, opts.Mask)
				if p == nil {
					record(nil, failed)
					progress()
					continue
				}
				fetched <- read{job: j, payload: p}
			}
		})
		writers.Go(func() {
			for r := range fetched {
				record(place(ctx, dst, r.job, r.payload))
				progress()
			}
		})
	}
feed:
	for _, j := range jobs {
		select {
		case work <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	readers.Wait()
	close(fetched)
	writers.Wait()
	sortResult(res)
	return res, ctx.Err()
}

// knownConnectors lists every connector some secret is labelled with.
func knownConnectors(entries []labels.Entry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e.Connectors...)
	}
	return out
}

// skipWrites drops the writes of connectors skip rejects and names those
// connectors once each, sorted.
func skipWrites(writes []labels.Write, skip func(string) bool) (kept []labels.Write, skipped []string) {
	verdict := map[string]bool{}
	skipped = []string{}
	for _, w := range writes {
		c := w.Target.Connector
		s, known := verdict[c]
		if !known {
			s = skip(c)
			verdict[c] = s
			if s {
				skipped = append(skipped, c)
			}
		}
		if !s {
			kept = append(kept, w)
		}
	}
	sort.Strings(skipped)
	return kept, skipped
}

// read is a payload fetched and checked, on its way to the writers.
type read struct {
	job     job
	payload *gsm.Payload
}

// placeAll resolves each target's folder and groups targets by secret, so a
// secret serving several connectors is read once. Each folder is prepared once
// (stale temporary files of a killed run removed) unless this is a dry run.
func placeAll(ctx context.Context, dst Destination, writes []labels.Write, dryRun bool) ([]job, []Failure) {
	var failed []Failure
	bySecret := map[string]*job{}
	var order []string
	prepared := map[string]error{}
	for _, w := range writes {
		dir, err := dst.SecretsDir(w.Target.Connector)
		if err == nil && !dryRun {
			perr, done := prepared[dir]
			if !done {
				perr = dst.Prepare(ctx, dir)
				prepared[dir] = perr
			}
			err = perr
		}
		if err != nil {
			failed = append(failed, Failure{Secret: w.Secret, Connector: w.Target.Connector, Err: err})
			continue
		}
		j, ok := bySecret[w.Secret]
		if !ok {
			j = &job{secret: w.Secret}
			bySecret[w.Secret] = j
			order = append(order, w.Secret)
		}
		j.targets = append(j.targets, placed{Target: w.Target, dir: dir})
	}
	jobs := make([]job, len(order))
	for i, s := range order {
		jobs[i] = *bySecret[s]
	}
	return jobs, failed
}

// fetch reads a secret, checks its payload and emits its masks. A nil
// payload comes with the failures to report (none when interrupted).
func fetch(ctx context.Context, src Source, j job, mask func([]byte) error) (*gsm.Payload, []Failure) {
	if ctx.Err() != nil {
		return nil, nil
	}
	p, err := src.Access(ctx, j.secret)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil
		}
		return nil, j.fail(err)
	}
	if err := CheckPayload(p.Data()); err != nil {
		return nil, j.fail(fmt.Errorf("%s version %s: %w; nothing was written", j.secret, p.Version, err))
	}
	if mask != nil {
		if err := mask(p.Data()); err != nil {
			return nil, j.fail(fmt.Errorf("%s: could not emit log masks, so the file was not written: %w", j.secret, err))
		}
	}
	return p, nil
}

// fail is the same error for every target of the job.
func (j job) fail(err error) []Failure {
	out := make([]Failure, 0, len(j.targets))
	for _, t := range j.targets {
		out = append(out, Failure{Secret: j.secret, Connector: t.Connector, Err: err})
	}
	return out
}

// place writes a fetched payload to every target of its job.
func place(ctx context.Context, dst Destination, j job, p *gsm.Payload) ([]File, []Failure) {
	log := zerolog.Ctx(ctx)
	var written []File
	var failed []Failure
	for _, t := range j.targets {
		w, err := dst.Write(ctx, t.dir, t.File, p.Data())
		if err != nil {
			if ctx.Err() != nil {
				continue
			}
			failed = append(failed, Failure{Secret: j.secret, Connector: t.Connector, Err: err})
			continue
		}
		log.Debug().Str("secret", j.secret).Str("version", p.Version).Str("connector", t.Connector).Str("path", w.Path).Str("status", string(w.Status)).Msg("wrote secret")
		written = append(written, File{Connector: t.Connector, Secret: j.secret, Path: w.Path, Version: p.Version, Status: w.Status})
	}
	return written, failed
}

// CheckPayload accepts only what a connector test can read as its config:
// a JSON object in valid UTF-8 within GSM's size limit (as push requires of
// what it writes back). The error never quotes the data.
func CheckPayload(data []byte) error {
	if len(data) > gsm.MaxPayload {
		return fmt.Errorf("%w (%d bytes)", ErrTooLarge, len(data))
	}
	if !utf8.Valid(data) {
		return fmt.Errorf("%w: it is not valid UTF-8", ErrNotJSON)
	}
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		return fmt.Errorf("%w: store the connector's config JSON in the secret (it starts with a UTF-8 byte-order mark, which JSON readers refuse: store it without one)", ErrNotJSON)
	}
	if !json.Valid(data) {
		// The offset says where to look without quoting anything.
		var se *json.SyntaxError
		if err := json.Unmarshal(data, new(json.RawMessage)); errors.As(err, &se) {
			where := fmt.Sprintf("the first error is at byte %d of %d", se.Offset, len(data))
			if strings.Contains(se.Error(), "max depth") {
				where = "it nests deeper than JSON readers accept"
			}
			return fmt.Errorf("%w: store the connector's config JSON in the secret (%s)", ErrNotJSON, where)
		}
		return fmt.Errorf("%w: store the connector's config JSON in the secret", ErrNotJSON)
	}
	if kind := jsonKind(data); kind != "an object" {
		return fmt.Errorf("%w: it is %s, and a connector config is a JSON object; store the config object itself in the secret", ErrNotObject, kind)
	}
	return nil
}

// jsonKind names the kind of the top-level value of valid JSON data.
func jsonKind(data []byte) string {
	t := bytes.TrimLeft(data, " \t\r\n")
	switch t[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 'n':
		return "null"
	case 't', 'f':
		return "a boolean"
	}
	return "a number"
}

func joinPath(dir, file string) string {
	if dir == "" {
		return file
	}
	return dir + "/" + file
}

func sortResult(r *Result) {
	sort.Slice(r.Written, func(i, j int) bool { return r.Written[i].Path < r.Written[j].Path })
	sort.Slice(r.Planned, func(i, j int) bool { return r.Planned[i].Path < r.Planned[j].Path })
	sort.SliceStable(r.Failed, func(i, j int) bool {
		if r.Failed[i].Secret != r.Failed[j].Secret {
			return r.Failed[i].Secret < r.Failed[j].Secret
		}
		return r.Failed[i].Connector < r.Failed[j].Connector
	})
}
