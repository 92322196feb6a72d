package emulator

import (
	"context"
	"encoding/binary"
	"slices"
	"strings"

	"cloud.google.com/go/iam/apiv1/iampb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// CallerHeader names the request header (gRPC metadata key) that carries the
// caller an emulator with Options.IAMEnforce checks a secret's policy for,
// as an IAM member: "user:alice@example.com", "serviceAccount:ci@p.iam.gserviceaccount.com".
const CallerHeader = "x-emulator-caller"

// emptyPolicyEtag is the etag GSM answers for a secret without a policy.
var emptyPolicyEtag = []byte{0x00, 0x20, 0x01} // "ACAB" in base64

// rolePermissions are the predefined roles the emulator understands, with
// the Secret Manager permissions each grants (a subset of what the basic
// roles grant elsewhere). Custom roles grant nothing here.
var rolePermissions = map[string][]string{
	"roles/owner":                              allPermissions(),
	"roles/secretmanager.admin":                allPermissions(),
	"roles/editor":                             without(allPermissions(), "secretmanager.secrets.setIamPolicy"),
	"roles/viewer":                             viewerPermissions,
	"roles/secretmanager.viewer":               viewerPermissions,
	"roles/secretmanager.secretAccessor":       {"secretmanager.versions.access"},
	"roles/secretmanager.secretVersionAdder":   {"secretmanager.versions.add"},
	"roles/secretmanager.secretVersionManager": {"secretmanager.versions.add", "secretmanager.versions.enable", "secretmanager.versions.disable", "secretmanager.versions.destroy", "secretmanager.versions.get", "secretmanager.versions.list"},
}

var viewerPermissions = []string{
	"secretmanager.locations.get", "secretmanager.locations.list", "secretmanager.secrets.get",
	"secretmanager.secrets.getIamPolicy", "secretmanager.secrets.list", "secretmanager.versions.get", "secretmanager.versions.list",
}

func allPermissions() []string {
	out := []string{"secretmanager.locations.get", "secretmanager.locations.list"}
	for _, p := range permissions {
		out = append(out, p)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func without(list []string, drop string) []string {
	return slices.DeleteFunc(list, func(p string) bool { return p == drop })
}

// memberPrefixes are the IAM member forms a binding may name.
var memberPrefixes = []string{"user:", "serviceAccount:", "group:", "domain:", "principal://", "principalSet://", "deleted:"}

func checkPolicy(p *iampb.Policy) error {
	if v := p.GetVersion(); v != 0 && v != 1 && v != 3 {
		return status.Errorf(codes.InvalidArgument, "policy version %d is not 0, 1 or 3", v)
	}
	for i, b := range p.GetBindings() {
		role := b.GetRole()
		if !strings.HasPrefix(role, "roles/") && !strings.HasPrefix(role, "projects/") && !strings.HasPrefix(role, "organizations/") {
			return status.Errorf(codes.InvalidArgument, "bindings[%d]: role %q is not a role name such as roles/secretmanager.secretAccessor", i, role)
		}
		if b.GetCondition() != nil {
			return status.Errorf(codes.InvalidArgument, "bindings[%d]: IAM conditions are not emulated; the emulator refuses them rather than ignore them", i)
		}
		if len(b.GetMembers()) == 0 {
			return status.Errorf(codes.InvalidArgument, "bindings[%d] (%s) has no members", i, role)
		}
		for _, m := range b.GetMembers() {
			if m != "allUsers" && m != "allAuthenticatedUsers" && !slices.ContainsFunc(memberPrefixes, func(pre string) bool { return strings.HasPrefix(m, pre) && len(m) > len(pre) }) {
				return status.Errorf(codes.InvalidArgument, "bindings[%d]: member %q is not of the form user:EMAIL, serviceAccount:EMAIL, group:EMAIL, domain:DOMAIN, allUsers or allAuthenticatedUsers", i, m)
			}
		}
	}
	return nil
}

func policyEtag(rev int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(rev)) }

// SetIamPolicy replaces a secret's policy. A policy carrying an etag must
// match the current one (ABORTED otherwise, as IAM answers a concurrent
// change).
func (s *Server) SetIamPolicy(_ context.Context, req *iampb.SetIamPolicyRequest) (*iampb.Policy, error) {
	in := req.GetPolicy()
	if in == nil {
		return nil, status.Error(codes.InvalidArgument, "policy is required")
	}
	if err := checkPolicy(in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.lookup(req.GetResource())
	if err != nil {
		return nil, err
	}
	cur := emptyPolicyEtag
	if sec.policy != nil {
		cur = sec.policy.GetEtag()
	}
	if len(in.GetEtag()) > 0 && string(in.GetEtag()) != string(cur) {
		return nil, status.Errorf(codes.Aborted, "There were concurrent policy changes on [%s]: get the policy again and reapply your change.", s.secretName(sec))
	}
	p := proto.Clone(in).(*iampb.Policy)
	if p.Version == 0 {
		p.Version = 1
	}
	p.Etag = policyEtag(s.nextRev())
	sec.policy = p
	return proto.Clone(p).(*iampb.Policy), nil
}

// GetIamPolicy returns a secret's policy, or an empty one.
func (s *Server) GetIamPolicy(_ context.Context, req *iampb.GetIamPolicyRequest) (*iampb.Policy, error) {
	if v := req.GetOptions().GetRequestedPolicyVersion(); v != 0 && v != 1 && v != 3 {
		return nil, status.Errorf(codes.InvalidArgument, "options.requested_policy_version %d is not 0, 1 or 3", v)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	sec, err := s.lookup(req.GetResource())
	if err != nil {
		return nil, err
	}
	if sec.policy == nil {
		return &iampb.Policy{Etag: emptyPolicyEtag}, nil
	}
	return proto.Clone(sec.policy).(*iampb.Policy), nil
}

// TestIamPermissions returns the requested permissions the caller (named
// by CallerHeader) holds on the secret. A secret without a policy grants
// everything: the emulator has no project policy to fall back on.
func (s *Server) TestIamPermissions(ctx context.Context, req *iampb.TestIamPermissionsRequest) (*iampb.TestIamPermissionsResponse, error) {
	valid := allPermissions()
	for _, p := range req.GetPermissions() {
		if !slices.Contains(valid, p) {
			return nil, status.Errorf(codes.InvalidArgument, "Permission %q is not a Secret Manager permission (for example secretmanager.versions.access).", p)
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	sec, err := s.lookup(req.GetResource())
	if err != nil {
		return nil, err
	}
	resp := &iampb.TestIamPermissionsResponse{}
	for _, p := range req.GetPermissions() {
		if grants(sec.policy, callerOf(ctx), p) {
			resp.Permissions = append(resp.Permissions, p)
		}
	}
	return resp, nil
}

func callerOf(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get(CallerHeader); len(v) > 0 {
		return strings.TrimSpace(v[0])
	}
	return ""
}

// grants reports whether policy gives caller perm; no policy grants all.
func grants(policy *iampb.Policy, caller, perm string) bool {
	if policy == nil {
		return true
	}
	for _, b := range policy.GetBindings() {
		if !slices.Contains(rolePermissions[b.GetRole()], perm) {
			continue
		}
		for _, m := range b.GetMembers() {
			if m == "allUsers" || m == "allAuthenticatedUsers" && caller != "" || caller != "" && m == caller {
				return true
			}
		}
	}
	return false
}

// authorize is the --iam enforce check in front of a method: a call on a
// secret that has a policy needs the method's permission for the caller.
// Calls naming no existing secret (lists, creates) pass: the emulator holds
// no project policy.
func (s *Server) authorize(ctx context.Context, method, resource string) error {
	perm := permissions[method]
	if perm == "" || secretIDOf(resource) == "" {
		return nil
	}
	r, err := parseName(secretOnly(resource), "secret")
	if err != nil {
		return nil // the method itself reports the bad name
	}
	s.mu.RLock()
	var policy *iampb.Policy
	if i := s.find(r.location, r.secret); i >= 0 {
		policy = s.secrets[i].policy
	}
	s.mu.RUnlock()
	caller := callerOf(ctx)
	if grants(policy, caller, perm) {
		return nil
	}
	if caller == "" {
		return status.Errorf(codes.Unauthenticated, "Request on [%s] needs a caller: the emulator enforces IAM, so set the %s header (gRPC metadata) to a member such as user:alice@example.com.", r.secretName(), CallerHeader)
	}
	return status.Errorf(codes.PermissionDenied, "Permission '%s' denied for resource '%s' (or it may not exist).", perm, r.secretName())
}

// secretOnly cuts a version name back to its secret's name.
func secretOnly(name string) string {
	if i := strings.Index(name, "/versions/"); i >= 0 {
		return name[:i]
	}
	return name
}
