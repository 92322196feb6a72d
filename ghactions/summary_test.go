package ghactions_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/airbytehq/ci-secrets/ghactions"
)

func TestSummaryMarkdown(t *testing.T) {
	s := ghactions.Summary{
		Title:   "ci-secrets sync",
		Headers: []string{"connector", "file", "secret", "version"},
		Rows:    [][]string{{"source-s3", "a/secrets/config.json", "SECRET_S3_CREDS", "2"}},
		Notes:   []string{"No secret for: source-x"},
		Failures: []ghactions.Failure{
			{Subject: "SECRET_EVIL_CREDS", Message: "server said <img src=x> | [link](http://e) `code`\nsecond line"},
		},
		Cost: "wrote 1 file, 1 failed; cost: 1 read request",
	}
	got := s.Markdown(0)
	for _, want := range []string{
		"### ci-secrets sync: 1 failed\n",
		"| connector | file | secret | version |\n|---|---|---|---|\n",
		"| source-s3 | a/secrets/config.json | SECRET\\_S3\\_CREDS | 2 |\n",
		"No secret for: source-x\n",
		"**Failures**\n\n- `SECRET_EVIL_CREDS`: server said &lt;img src=x&gt; \\| \\[link\\](http://e) 'code' second line\n",
		"wrote 1 file, 1 failed; cost: 1 read request\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "<img") || strings.Contains(got, "[link]") {
		t.Errorf("untrusted text reached the summary as Markdown or HTML:\n%s", got)
	}
}

func TestSummaryEmptyAndSucceeded(t *testing.T) {
	got := ghactions.Summary{Title: "ci-secrets push", Headers: []string{"a"}, Empty: "Nothing pushed."}.Markdown(0)
	if want := "### ci-secrets push: succeeded\n\nNothing pushed.\n\n"; got != want {
		t.Errorf("summary = %q, want %q", got, want)
	}
}

func TestSummaryCutAtLimit(t *testing.T) {
	s := ghactions.Summary{Title: "t", Headers: []string{"file"}, Cost: "cost line"}
	for range 1000 {
		s.Rows = append(s.Rows, []string{strings.Repeat("x", 100)})
	}
	const limit = 20_000
	got := s.Markdown(limit)
	if len(got) > limit {
		t.Errorf("summary is %d bytes, over the %d limit", len(got), limit)
	}
	if !strings.Contains(got, "more rows not shown") || !strings.Contains(got, "cost line") {
		t.Errorf("a cut summary must say rows were left out and keep the cost line:\n%s", got[len(got)-300:])
	}
}

func TestAppendSummary(t *testing.T) {
	path := filepath.Join(t.TempDir(), "step_summary")
	for _, part := range []string{"one\n", "two\n"} {
		if err := ghactions.AppendSummary(path, part); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil || string(b) != "one\ntwo\n" {
		t.Errorf("summary file = %q, %v; want both parts appended", b, err)
	}
	err = ghactions.AppendSummary(filepath.Join(t.TempDir(), "missing", "f"), "x")
	if err == nil || !strings.Contains(err.Error(), "GITHUB_STEP_SUMMARY") {
		t.Errorf("unwritable summary: err = %v, want it to name GITHUB_STEP_SUMMARY", err)
	}
}

func TestAnnotate(t *testing.T) {
	var b bytes.Buffer
	if err := ghactions.Annotate(&b, "error", "ci-secrets: a,b", "line one\nline two 100%\r::add-mask::x"); err != nil {
		t.Fatal(err)
	}
	want := "::error title=ci-secrets%3A a%2Cb::line one%0Aline two 100%25%0D::add-mask::x\n"
	if got := b.String(); got != want {
		t.Errorf("annotation = %q, want %q", got, want)
	}
	if strings.Count(b.String(), "\n") != 1 {
		t.Errorf("an annotation must be one line: %q", b.String())
	}
	if err := ghactions.Annotate(&b, "fatal", "t", "m"); err == nil {
		t.Errorf("level fatal accepted")
	}
}
