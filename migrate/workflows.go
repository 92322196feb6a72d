package migrate

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// EnvMapping is an `env:` entry that hands a GitHub secret to the
// environment: `FOO_CREDS: ${{ secrets.SOURCE_FOO_CREDS }}`.
type EnvMapping struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Context string `json:"context"` // e.g. jobs.test.steps[2].env.FOO_CREDS
	Env     string `json:"env"`
	Secret  string `json:"secret"`

	scope scope // where the entry applies
}

// scope is where an env: entry or a reference sits in a workflow file: at
// workflow level (job ""), in a job, or in one of its steps.
type scope struct {
	job  string // "" at workflow level
	step int    // index in jobs.<job>.steps; -1 outside a step
}

// scopeOf finds the job and step a path is inside.
func scopeOf(p []string) scope {
	sc := scope{step: -1}
	if len(p) >= 2 && p[0] == "jobs" {
		sc.job = p[1]
		if len(p) >= 4 && p[2] == "steps" {
			if i, err := strconv.Atoi(strings.Trim(p[3], "[]")); err == nil {
				sc.step = i
			}
		}
	}
	return sc
}

// stepRun is the run: command of a step.
type stepRun struct {
	file  string
	scope scope
	line  int
	text  string
	block bool // a block scalar (run: |), whose text starts on the next line
}

// allSecretsUse says how a place passes every secret at once.
type allSecretsUse int

const (
	allInText   allSecretsUse = iota // toJson(secrets) anywhere but an env: entry
	allInEnv                         // an env: entry's value holds toJson(secrets)
	allInherit                       // a reusable workflow call with secrets: inherit
	allUnparsed                      // found in a file that is not valid YAML
)

// Reference is any other place a workflow reads a secret.
type Reference struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Context string `json:"context"`
	Secret  string `json:"secret,omitempty"`

	scope scope
	all   allSecretsUse // for AllSecrets: how every secret is passed
}

// Workflows is what ReadWorkflows found in a folder of workflow files.
type Workflows struct {
	Dir string
	// Root is the repository root, where the repository scripts that a
	// run: command calls are read: the folder holding .github/workflows,
	// else the current directory.
	Root  string
	Files []string
	// EnvMappings are the env: entries holding exactly one secret, at
	// workflow, job or step level.
	EnvMappings []EnvMapping
	// References are every other use of secrets.NAME (secret names in upper
	// case: GitHub's are case-insensitive).
	References []Reference
	// AllSecrets are the places that pass every secret at once
	// (toJson(secrets), the source of GITHUB_PROVIDED_SECRETS_JSON).
	AllSecrets []Reference
	// Warnings are files that could not be parsed as YAML; they were
	// scanned as text instead, so their references still count.
	Warnings []string

	// runs are the steps' run: commands.
	runs []stepRun
	// uses maps file and job to the reusable workflow the job calls.
	uses map[string]map[string]string
	// texts are, per file, every scalar value but the env: entries that
	// map one secret: where a workflow may name an environment variable.
	texts map[string][]string
	// aliases marks files with YAML aliases (*name), whose reuse of an
	// env: block is not expanded.
	aliases map[string]bool
}

// maxWorkflowFiles bounds the work on a wrong --workflows folder.
const maxWorkflowFiles = 1000

// ReadWorkflows reads every *.yml and *.yaml file directly in dir (where
// GitHub looks for workflows). A file that is not valid YAML does not stop
// the audit: it is scanned as plain text for secrets.NAME, every hit counts
// as a reference (so nothing is wrongly called safe to delete), and a
// warning names the file and the YAML error.
func ReadWorkflows(dir string) (*Workflows, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, &InputError{File: dir, Msg: "no such workflows folder"}
		}
		return nil, &InputError{File: dir, Msg: "cannot read the workflows folder: " + unwrapPath(err).Error()}
	}
	if !fi.IsDir() {
		return nil, &InputError{File: dir, Msg: "is not a folder; give the workflows folder, e.g. .github/workflows"}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, &InputError{File: dir, Msg: "cannot list the workflows folder: " + unwrapPath(err).Error()}
	}
	root := "."
	if abs, err := filepath.Abs(dir); err == nil && filepath.Base(abs) == "workflows" && filepath.Base(filepath.Dir(abs)) == ".github" {
		root = filepath.Dir(filepath.Dir(abs))
	}
	w := &Workflows{Dir: dir, Root: root, Files: []string{}, EnvMappings: []EnvMapping{}, References: []Reference{}, AllSecrets: []Reference{}, Warnings: []string{},
		uses: map[string]map[string]string{}, texts: map[string][]string{}, aliases: map[string]bool{}}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !(strings.HasSuffix(name, ".yml") || strings.HasSuffix(name, ".yaml")) {
			continue
		}
		if len(w.Files) >= maxWorkflowFiles {
			return nil, &InputError{File: dir, Msg: fmt.Sprintf("holds more than %d workflow files; is this the right folder?", maxWorkflowFiles)}
		}
		path := filepath.Join(dir, name)
		data, err := readTextFile(path, "workflow", ".github/workflows/ci.yml")
		if err != nil {
			return nil, err
		}
		w.Files = append(w.Files, path)
		w.add(path, data)
	}
	if len(w.Files) == 0 {
		return nil, &InputError{File: dir, Msg: "holds no .yml or .yaml workflow file"}
	}
	return w, nil
}

// ParseWorkflow adds one workflow file's content (named file) to w.
func (w *Workflows) add(file string, data []byte) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		w.Warnings = append(w.Warnings, fmt.Sprintf("%s is not valid YAML (%s); scanned it as text: every secret it mentions counts as still referenced", file, yamlErr(err)))
		w.scanText(file, data)
		return
	}
	if len(doc.Content) == 0 {
		return
	}
	w.walk(file, doc.Content[0], nil)
}

func yamlErr(err error) string {
	return strings.TrimPrefix(strings.TrimPrefix(err.Error(), "yaml: "), "unmarshal errors:\n  ")
}

var (
	exprRe     = regexp.MustCompile(`\$\{\{(.*?)\}\}`)
	secretRe   = regexp.MustCompile(`(?i)\bsecrets\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*'([^']*)'\s*\]|\[\s*"([^"]*)"\s*\])`)
	allRe      = regexp.MustCompile(`(?i)\btojson\s*\(\s*secrets\s*\)`)
	onlyOneRe  = regexp.MustCompile(`(?i)^\s*\$\{\{\s*secrets\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}\s*$`)
	textExprRe = regexp.MustCompile(`(?i)\bsecrets\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)`)
)

// walk visits a YAML node; path holds the keys and indexes leading to it.
func (w *Workflows) walk(file string, n *yaml.Node, path []string) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			w.walk(file, v, append(path[:len(path):len(path)], k.Value))
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			w.walk(file, c, append(path[:len(path):len(path)], "["+strconv.Itoa(i)+"]"))
		}
	case yaml.DocumentNode:
		for _, c := range n.Content {
			w.walk(file, c, path)
		}
	case yaml.AliasNode:
		// The anchor's own node was visited where it was defined.
		w.aliases[file] = true
	case yaml.ScalarNode:
		w.scalar(file, n, path)
	}
}

func (w *Workflows) scalar(file string, n *yaml.Node, path []string) {
	ctx := joinPath(path)
	if isEnvEntry(path) {
		if m := onlyOneRe.FindStringSubmatch(n.Value); m != nil {
			w.EnvMappings = append(w.EnvMappings, EnvMapping{File: file, Line: n.Line, Context: ctx, Env: path[len(path)-1], Secret: strings.ToUpper(m[1]), scope: scopeOf(path)})
			return
		}
	}
	sc := scopeOf(path)
	w.texts[file] = append(w.texts[file], n.Value)
	if len(path) == 5 && path[0] == "jobs" && path[2] == "steps" && path[4] == "run" {
		w.runs = append(w.runs, stepRun{file: file, scope: sc, line: n.Line, text: n.Value, block: n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0})
	}
	if len(path) == 3 && path[0] == "jobs" && path[2] == "uses" {
		if w.uses[file] == nil {
			w.uses[file] = map[string]string{}
		}
		w.uses[file][path[1]] = strings.TrimSpace(n.Value)
	}
	if len(path) == 3 && path[0] == "jobs" && path[2] == "secrets" && strings.TrimSpace(n.Value) == "inherit" {
		// A reusable workflow called with `secrets: inherit` gets them all.
		w.AllSecrets = append(w.AllSecrets, Reference{File: file, Line: n.Line, Context: ctx + ": inherit", scope: sc, all: allInherit})
		return
	}
	all := allInText
	if isEnvEntry(path) {
		all = allInEnv
	}
	lastKey := ""
	if len(path) > 0 {
		lastKey = path[len(path)-1]
	}
	scan := func(expr string, line int) {
		if allRe.MatchString(expr) {
			w.AllSecrets = append(w.AllSecrets, Reference{File: file, Line: line, Context: ctx, scope: sc, all: all})
		}
		for _, m := range secretRe.FindAllStringSubmatch(expr, -1) {
			name := m[1] + m[2] + m[3]
			if name == "" {
				continue
			}
			w.References = append(w.References, Reference{File: file, Line: line, Context: ctx, Secret: strings.ToUpper(name), scope: sc})
		}
	}
	if lastKey == "if" {
		// `if:` may be written without ${{ }}.
		scan(n.Value, n.Line)
		return
	}
	for _, loc := range exprRe.FindAllStringSubmatchIndex(n.Value, -1) {
		scan(n.Value[loc[2]:loc[3]], scalarLine(n, loc[0]))
	}
}

// scalarLine is the line of an offset inside a scalar: block scalars (run: |)
// start on the line after their indicator.
func scalarLine(n *yaml.Node, offset int) int {
	nl := strings.Count(n.Value[:offset], "\n")
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return n.Line + 1 + nl
	}
	return n.Line + nl
}

// isEnvEntry: env.X at workflow level, jobs.J.env.X, jobs.J.steps[i].env.X.
func isEnvEntry(p []string) bool {
	switch len(p) {
	case 2:
		return p[0] == "env"
	case 4:
		return p[0] == "jobs" && p[2] == "env"
	case 6:
		return p[0] == "jobs" && p[2] == "steps" && p[4] == "env"
	}
	return false
}

func joinPath(p []string) string {
	var b strings.Builder
	for i, s := range p {
		if i > 0 && !strings.HasPrefix(s, "[") {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return b.String()
}

// scanText finds secrets.NAME and toJson(secrets) in a file that is not
// valid YAML, line by line.
func (w *Workflows) scanText(file string, data []byte) {
	w.texts[file] = append(w.texts[file], string(data))
	for i, line := range strings.Split(string(data), "\n") {
		if allRe.MatchString(line) {
			w.AllSecrets = append(w.AllSecrets, Reference{File: file, Line: i + 1, Context: "(unparsed file)", scope: scope{step: -1}, all: allUnparsed})
		}
		for _, m := range textExprRe.FindAllStringSubmatch(line, -1) {
			w.References = append(w.References, Reference{File: file, Line: i + 1, Context: "(unparsed file)", Secret: strings.ToUpper(m[1]), scope: scope{step: -1}})
		}
	}
}

// SecretsFor returns the GitHub secrets an environment variable is mapped
// from, sorted; nil when no env: entry maps it.
func (w *Workflows) SecretsFor(env string) []string {
	if w == nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, m := range w.EnvMappings {
		if m.Env == env && !seen[m.Secret] {
			seen[m.Secret] = true
			out = append(out, m.Secret)
		}
	}
	sort.Strings(out)
	return out
}
