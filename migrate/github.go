package migrate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/google/go-github/v75/github"
)

// GitHubCheck compares the secrets the report calls safe to delete with the
// repository's real Actions secrets.
type GitHubCheck struct {
	Repo string `json:"repo"`
	// Delete are safe to delete and still exist in the repository.
	Delete []Deletion `json:"delete"`
	// AlreadyGone are safe to delete and no longer repository secrets.
	AlreadyGone []string `json:"already_gone"`
	// Organization are safe to delete but are organization secrets shared
	// with the repository: only an organization admin can delete them.
	Organization []string `json:"organization"`
	// Unreferenced are repository secrets that neither the script nor any
	// workflow reads (only computed when workflows were read).
	Unreferenced []string `json:"unreferenced"`
	// Missing are secrets the script still needs (leftover or in use) that
	// are neither repository nor organization secrets.
	Missing []string `json:"missing"`
	Notes   []string `json:"notes"`
}

// What the GitHub check says of a deletable secret that has no delete line.
const (
	GitHubAlreadyGone  = "already gone"
	GitHubOrganization = "organization secret"
)

// ErrGitHub wraps every failure to talk to the GitHub API.
var ErrGitHub = errors.New("GitHub API")

// SplitRepo checks an OWNER/NAME repository argument.
func SplitRepo(repo string) (owner, name string, err error) {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || owner == "" || name == "" || strings.ContainsAny(name, "/ ") || strings.ContainsAny(owner, " ") {
		return "", "", &InputError{File: "--github-repo", Msg: fmt.Sprintf("%q is not OWNER/NAME (e.g. airbytehq/airbyte)", repo)}
	}
	return owner, name, nil
}

// GitHubClient is a go-github client and the token it sends, which every
// message built from the server's answers is scrubbed of.
type GitHubClient struct {
	gh    *github.Client
	token string
}

// NewGitHubClient returns a go-github client authenticated with token.
// baseURL overrides https://api.github.com/ (GitHub Enterprise, or a test
// server); Actions sets it in GITHUB_API_URL. Plain http is refused unless
// the host is a loopback address: the token must not cross a network in
// clear text.
func NewGitHubClient(token, baseURL string) (*GitHubClient, error) {
	c := github.NewClient(&http.Client{Timeout: 30 * time.Second}).WithAuthToken(token)
	if baseURL != "" {
		if !strings.HasSuffix(baseURL, "/") {
			baseURL += "/"
		}
		u, err := url.Parse(baseURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, &InputError{File: "GitHub API URL", Msg: fmt.Sprintf("%q is not an http(s) URL", serverText(baseURL, token))}
		}
		if err := checkAPIURL(u); err != nil {
			return nil, err
		}
		c.BaseURL = u
	}
	return &GitHubClient{gh: c, token: token}, nil
}

// maxPages bounds the listing (100 secrets a page; GitHub allows far fewer
// secrets per repository).
const maxPages = 100

// CheckGitHub lists the repository's Actions secrets (every page) and the
// organization secrets it can use, and sorts the report's deletable secrets
// (safe to delete and unused) into still there, already gone and
// organization-level. With workflows it
// also lists repository secrets nothing references. It does not change r:
// ApplyGitHubCheck does.
func CheckGitHub(ctx context.Context, c *GitHubClient, repo string, r *Report, wf *Workflows) (*GitHubCheck, error) {
	gh := c.gh
	owner, name, err := SplitRepo(repo)
	if err != nil {
		return nil, err
	}
	res := &GitHubCheck{Repo: repo, Delete: []Deletion{}, AlreadyGone: []string{}, Organization: []string{}, Unreferenced: []string{}, Missing: []string{}, Notes: []string{}}
	repoSecrets, err := listAll(ctx, func(opts *github.ListOptions) (*github.Secrets, *github.Response, error) {
		return gh.Actions.ListRepoSecrets(ctx, owner, name, opts)
	})
	if err != nil {
		return nil, explainGitHub(err, repo, "list the Actions secrets of", c.token)
	}
	orgSecrets, err := listAll(ctx, func(opts *github.ListOptions) (*github.Secrets, *github.Response, error) {
		return gh.Actions.ListRepoOrgSecrets(ctx, owner, name, opts)
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		res.Notes = append(res.Notes, "organization secrets were not checked: "+explainGitHub(err, repo, "list the organization secrets of", c.token).Error())
		orgSecrets = map[string]bool{}
	}

	deletable := append(append([]Deletion{}, r.ToDelete...), r.AssumedToDelete...)
	for _, u := range r.UnusedGitHubSecrets {
		deletable = append(deletable, Deletion{Secret: u.Secret, Variables: u.Env})
	}
	sort.SliceStable(deletable, func(i, j int) bool { return deletable[i].Secret < deletable[j].Secret })
	for _, d := range deletable {
		switch {
		case repoSecrets[d.Secret]:
			d.Command = "gh secret delete " + d.Secret + " --repo " + repo
			res.Delete = append(res.Delete, d)
		case orgSecrets[d.Secret]:
			res.Organization = append(res.Organization, d.Secret)
		default:
			res.AlreadyGone = append(res.AlreadyGone, d.Secret)
		}
	}
	needed := map[string]bool{}
	for _, v := range r.Variables {
		for _, s := range v.secrets() {
			if v.Status != VarSafeToDelete {
				needed[s] = true
				if !repoSecrets[s] && !orgSecrets[s] {
					res.Missing = append(res.Missing, s)
				}
			}
		}
	}
	res.Missing = sortedUnique(res.Missing)
	if wf == nil {
		res.Notes = append(res.Notes, "no workflows folder given: repository secrets that nothing references were not looked for")
		return res, nil
	}
	referenced := map[string]bool{}
	for _, v := range r.Variables {
		for _, s := range v.secrets() {
			referenced[s] = true
		}
	}
	for _, ref := range wf.References {
		referenced[ref.Secret] = true
	}
	for _, m := range wf.EnvMappings {
		referenced[m.Secret] = true
	}
	for s := range repoSecrets {
		if !referenced[s] {
			res.Unreferenced = append(res.Unreferenced, s)
		}
	}
	sort.Strings(res.Unreferenced)
	if len(wf.AllSecrets) > 0 && len(res.Unreferenced) > 0 {
		res.Notes = append(res.Notes, "workflows pass every secret at once (toJson(secrets)): a program they run may still read an unreferenced secret by name")
	}
	return res, nil
}

// ApplyGitHubCheck makes the report's delete lines agree with the check:
// r.ToDelete keeps only the secrets still in the repository (a delete line
// for one already gone, or for an organization secret, would make gh
// fail), and an unused secret that is not a repository secret loses its
// command and says why. Applying it again changes nothing.
func (r *Report) ApplyGitHubCheck(g *GitHubCheck) {
	state := map[string]string{}
	for _, s := range g.AlreadyGone {
		state[s] = GitHubAlreadyGone
	}
	for _, s := range g.Organization {
		state[s] = GitHubOrganization
	}
	keep := func(list []Deletion) []Deletion {
		still := []Deletion{}
		for _, d := range list {
			if state[d.Secret] == "" {
				d.Command = "gh secret delete " + d.Secret + " --repo " + g.Repo
				still = append(still, d)
			}
		}
		return still
	}
	r.ToDelete = keep(r.ToDelete)
	r.AssumedToDelete = keep(r.AssumedToDelete)
	r.Summary.AssumedToDelete = len(r.AssumedToDelete)
	for i := range r.UnusedGitHubSecrets {
		u := &r.UnusedGitHubSecrets[i]
		if st := state[u.Secret]; st != "" {
			u.Command, u.GitHub = "", st
		}
	}
	if r.Actions == nil {
		r.Actions = &Actions{}
	}
	r.Actions.GitHub = g
}

func listAll(ctx context.Context, list func(*github.ListOptions) (*github.Secrets, *github.Response, error)) (map[string]bool, error) {
	out := map[string]bool{}
	opts := &github.ListOptions{PerPage: 100}
	for page := 0; page < maxPages; page++ {
		secrets, resp, err := list(opts)
		if err != nil {
			return nil, notJSON(err, resp)
		}
		for _, s := range secrets.Secrets {
			out[strings.ToUpper(s.Name)] = true
		}
		if resp == nil || resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// NotJSONError is a GitHub API reply that is not the JSON the API answers
// with: usually a wrong GITHUB_API_URL (a web page rather than the API) or
// a proxy's error page.
type NotJSONError struct {
	URL         string
	Status      int
	ContentType string
	Err         error
}

func (e *NotJSONError) Error() string {
	ct := e.ContentType
	if ct == "" {
		ct = "no content type"
	}
	detail := ""
	var er *github.ErrorResponse
	if !errors.As(e.Err, &er) {
		detail = ": " + serverText(e.Err.Error(), "")
	}
	return fmt.Sprintf("the GitHub API at %s answered something that is not JSON (HTTP %d, %s%s): check that GITHUB_API_URL is the API's base URL (https://api.github.com/, or https://HOST/api/v3/ for GitHub Enterprise) and that no proxy answers in its place",
		e.URL, e.Status, ct, detail)
}

func (e *NotJSONError) Unwrap() error { return e.Err }

// notJSON recognizes a reply whose body is not JSON: a decoding error on
// a success, or an error status whose body is not JSON either.
func notJSON(err error, resp *github.Response) error {
	if resp == nil || resp.Response == nil {
		return err
	}
	ct := resp.Header.Get("Content-Type")
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var er *github.ErrorResponse
	switch {
	case errors.As(err, &se), errors.As(err, &te):
	case errors.As(err, &er) && er.Message == "" && !strings.Contains(ct, "json") &&
		resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusNotFound:
		// An error page (a proxy's 502...), not the API's {"message": ...};
		// 401, 403 and 404 keep their own explanation.
	default:
		return err
	}
	u := ""
	if resp.Request != nil && resp.Request.URL != nil {
		r := *resp.Request.URL
		r.User = nil
		u = r.String()
	}
	return &NotJSONError{URL: u, Status: resp.StatusCode, ContentType: ct, Err: err}
}

// explainGitHub turns API errors into a sentence with the likely fix. Of
// what the server sent, only the API's "message" is printed, through
// serverText (token redacted, control characters escaped).
func explainGitHub(err error, repo, op, token string) error {
	var nj *NotJSONError
	if errors.As(err, &nj) {
		return fmt.Errorf("%w: cannot %s %s: %w", ErrGitHub, op, repo, nj)
	}
	var rle *github.RateLimitError
	if errors.As(err, &rle) {
		return fmt.Errorf("%w: cannot %s %s: rate limited until %s", ErrGitHub, op, repo, rle.Rate.Reset.Format(time.RFC3339))
	}
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		switch er.Response.StatusCode {
		case http.StatusUnauthorized:
			return fmt.Errorf("%w: cannot %s %s: the token was rejected (401): check GITHUB_TOKEN", ErrGitHub, op, repo)
		case http.StatusForbidden:
			return fmt.Errorf("%w: cannot %s %s: forbidden (403): the token needs admin rights on the repository or the fine-grained \"Secrets: read\" permission", ErrGitHub, op, repo)
		case http.StatusNotFound:
			hint := ""
			if ct := er.Response.Header.Get("Content-Type"); !strings.Contains(ct, "json") {
				hint = fmt.Sprintf("; the reply was not JSON (%s), so also check that GITHUB_API_URL is the API's base URL", orDash(ct))
			}
			return fmt.Errorf("%w: cannot %s %s: not found (404): check OWNER/NAME, and that the token can see the repository%s", ErrGitHub, op, repo, hint)
		}
		return fmt.Errorf("%w: cannot %s %s: HTTP %d: %s", ErrGitHub, op, repo, er.Response.StatusCode, serverText(er.Message, token))
	}
	return fmt.Errorf("%w: cannot %s %s: %s", ErrGitHub, op, repo, serverText(err.Error(), token))
}

func sortedUnique(l []string) []string {
	sort.Strings(l)
	out := l[:0]
	for i, s := range l {
		if i == 0 || s != l[i-1] {
			out = append(out, s)
		}
	}
	return out
}
