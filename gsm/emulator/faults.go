package emulator

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Fault is a fault-injection rule: a fraction Rate of the calls to Method
// (short name such as "AccessSecretVersion"; "" = every method) that concern
// secret ID Secret ("" = any call, including calls naming no secret, such as
// ListSecrets) are answered with Code (default UNAVAILABLE) before the method
// runs, so a faulted call changes nothing. With After the method runs first
// and only its answer is replaced: the call took effect but the client cannot
// know, as when a connection drops after the server committed a write.
//
// Rules are evaluated with one random draw per call: the rules matching a call
// share the unit interval in order (Faults first, then Options.ErrorRate), so
// {10% UNAVAILABLE, 5% RESOURCE_EXHAUSTED} fails 15% of calls, and rates that
// add up to 1 or more fail every call.
type Fault struct {
	Method string
	Secret string
	Rate   float64
	Code   codes.Code
	After  bool
}

// Quota enforces GSM's per-project request quotas (gsm-facts.md) over fixed
// windows: the first call opens a window of one minute divided by Scale;
// within a window at most the given number of requests of each kind are
// served, later ones get RESOURCE_EXHAUSTED; the counts restart when the
// window ends (windows follow each other from the first one, so a burst at a
// window boundary can see up to twice the budget, as with GSM's own
// per-minute refill). A refused request does not consume quota; a request
// that is admitted and then faulted does. A limit of 0 means unlimited.
//
// Kinds as GSM classifies them: access = AccessSecretVersion; write =
// CreateSecret, AddSecretVersion, UpdateSecret, DeleteSecret,
// Enable/Disable/DestroySecretVersion (and the other mutating methods); read =
// everything else (ListSecrets, GetSecret, ListSecretVersions, ...). The
// per-secret AddSecretVersion and per-version state-change rates are not
// modelled.
type Quota struct {
	ReadPerMinute   int
	AccessPerMinute int
	WritePerMinute  int
	// Scale compresses time: 60 makes a "minute" last one second. 0 means 1.
	Scale float64
}

// GSM's production quotas, for Quota literals that want realism.
const (
	GSMReadPerMinute   = 600
	GSMAccessPerMinute = 90000
	GSMWritePerMinute  = 600
)

// FaultSettings are the injection knobs that can change while a server runs
// (Server.SetFaults); they mean what the Options fields of the same names mean.
type FaultSettings struct {
	Latency   time.Duration
	Jitter    time.Duration
	ErrorRate float64
	ErrorCode codes.Code
	Faults    []Fault
}

type quotaKind int

const (
	quotaRead quotaKind = iota
	quotaAccess
	quotaWrite
)

var quotaNames = [...]string{"Read requests", "Access requests", "Write requests"}

func kindOf(method string) quotaKind {
	switch method {
	case "AccessSecretVersion":
		return quotaAccess
	case "CreateSecret", "AddSecretVersion", "UpdateSecret", "DeleteSecret",
		"EnableSecretVersion", "DisableSecretVersion", "DestroySecretVersion",
		"SetIamPolicy", "EnableManagedRotation", "RotateSecret":
		return quotaWrite
	}
	return quotaRead
}

// permissions names the IAM permission each method needs, for realistic
// PERMISSION_DENIED messages.
var permissions = map[string]string{
	"ListSecrets":          "secretmanager.secrets.list",
	"GetSecret":            "secretmanager.secrets.get",
	"CreateSecret":         "secretmanager.secrets.create",
	"UpdateSecret":         "secretmanager.secrets.update",
	"DeleteSecret":         "secretmanager.secrets.delete",
	"AddSecretVersion":     "secretmanager.versions.add",
	"GetSecretVersion":     "secretmanager.versions.get",
	"ListSecretVersions":   "secretmanager.versions.list",
	"AccessSecretVersion":  "secretmanager.versions.access",
	"DisableSecretVersion": "secretmanager.versions.disable",
	"EnableSecretVersion":  "secretmanager.versions.enable",
	"DestroySecretVersion": "secretmanager.versions.destroy",
	"GetIamPolicy":         "secretmanager.secrets.getIamPolicy",
	"SetIamPolicy":         "secretmanager.secrets.setIamPolicy",
}

// knownMethod reports whether m is a method of the Secret Manager service.
func knownMethod(m string) bool {
	for _, d := range secretmanagerpb.SecretManagerService_ServiceDesc.Methods {
		if d.MethodName == m {
			return true
		}
	}
	return false
}

// normalize validates settings and fills defaults; it returns a copy.
func (fs FaultSettings) normalize() (FaultSettings, error) {
	if fs.Latency < 0 || fs.Jitter < 0 {
		return fs, fmt.Errorf("emulator: latency and jitter cannot be negative")
	}
	if !(fs.ErrorRate >= 0 && fs.ErrorRate <= 1) {
		return fs, fmt.Errorf("emulator: error rate %v is not a fraction between 0 and 1", fs.ErrorRate)
	}
	if fs.ErrorCode == codes.OK {
		fs.ErrorCode = codes.Unavailable
	}
	rules := make([]Fault, 0, len(fs.Faults))
	for i, f := range fs.Faults {
		f.Method = f.Method[strings.LastIndex(f.Method, "/")+1:] // accept full gRPC method names
		if f.Method != "" && !knownMethod(f.Method) {
			return fs, fmt.Errorf("emulator: fault %d: %q is not a Secret Manager method", i, f.Method)
		}
		if !(f.Rate >= 0 && f.Rate <= 1) {
			return fs, fmt.Errorf("emulator: fault %d: rate %v is not a fraction between 0 and 1", i, f.Rate)
		}
		if f.Code == codes.OK {
			f.Code = codes.Unavailable
		}
		rules = append(rules, f)
	}
	fs.Faults = rules
	return fs, nil
}

// pick returns the code of the fault to inject for a call, or OK. draw is
// called at most once, only when some rule could fire.
func (fs *FaultSettings) pick(method, secret string, draw func() float64) (code codes.Code, after bool) {
	var r float64
	drawn := false
	acc := 0.0
	try := func(rate float64) bool {
		if rate <= 0 {
			return false
		}
		if !drawn {
			r, drawn = draw(), true
		}
		acc += rate
		return r < acc
	}
	for _, f := range fs.Faults {
		if (f.Method == "" || f.Method == method) && (f.Secret == "" || f.Secret == secret) && try(f.Rate) {
			return f.Code, f.After
		}
	}
	if try(fs.ErrorRate) {
		return fs.ErrorCode, false
	}
	return codes.OK, false
}

// codeName spells a code as google.rpc.Code names it (RESOURCE_EXHAUSTED,
// CANCELLED), which is also the "status" of Google's JSON errors.
func codeName(c codes.Code) string {
	if n, ok := code.Code_name[int32(c)]; ok {
		return n
	}
	return "UNKNOWN"
}

// faultError builds the injected error, worded like GSM's where GSM's wording
// is known, and marked as injected. resource is a resource name, never data.
func faultError(c codes.Code, method, resource, project string) error {
	const mark = " [injected by the emulator]"
	switch c {
	case codes.PermissionDenied:
		perm := permissions[method]
		if perm == "" {
			perm = "secretmanager.*"
		}
		if resource == "" {
			resource = "projects/" + project
		}
		return status.Errorf(c, "Permission '%s' denied for resource '%s' (or it may not exist).%s", perm, resource, mark)
	case codes.ResourceExhausted:
		return quotaError(kindOf(method), project, mark)
	case codes.Unavailable:
		return status.Errorf(c, "The service is currently unavailable.%s", mark)
	}
	return status.Errorf(c, "%s on %s%s", codeName(c), method, mark)
}

func quotaError(k quotaKind, project, suffix string) error {
	metric := quotaNames[k]
	st := status.Newf(codes.ResourceExhausted,
		"Quota exceeded for quota metric '%s' and limit '%s per minute per project' of service 'secretmanager.googleapis.com' for consumer 'project:%s'.%s",
		metric, metric, project, suffix)
	if d, err := st.WithDetails(&errdetails.ErrorInfo{
		Reason: "RATE_LIMIT_EXCEEDED",
		Domain: "googleapis.com",
		Metadata: map[string]string{
			"quota_metric": "secretmanager.googleapis.com/" + strings.ToLower(strings.Fields(metric)[0]) + "_requests",
			"service":      "secretmanager.googleapis.com",
			"consumer":     "projects/" + project,
		},
	}); err == nil {
		st = d
	}
	return st.Err()
}

// quotaState counts requests per kind in the current fixed window.
type quotaState struct {
	mu     sync.Mutex
	window time.Duration
	limits [3]int
	start  time.Time
	used   [3]int
}

func newQuotaState(q *Quota) (*quotaState, error) {
	if q == nil {
		return nil, nil
	}
	if q.ReadPerMinute < 0 || q.AccessPerMinute < 0 || q.WritePerMinute < 0 || !(q.Scale >= 0) {
		return nil, fmt.Errorf("emulator: quota limits and scale cannot be negative")
	}
	scale := q.Scale
	if scale == 0 {
		scale = 1
	}
	w := time.Duration(float64(time.Minute) / scale)
	if w <= 0 {
		return nil, fmt.Errorf("emulator: quota scale %v leaves no window", q.Scale)
	}
	return &quotaState{window: w, limits: [3]int{q.ReadPerMinute, q.AccessPerMinute, q.WritePerMinute}}, nil
}

// take admits one request of kind k at now, or reports false when the
// window's budget is spent.
func (q *quotaState) take(now time.Time, k quotaKind) bool {
	if q == nil || q.limits[k] == 0 {
		return true
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.start.IsZero() || now.Before(q.start):
		q.start, q.used = now, [3]int{}
	case now.Sub(q.start) >= q.window:
		q.start = q.start.Add(now.Sub(q.start) / q.window * q.window)
		q.used = [3]int{}
	}
	if q.used[k] >= q.limits[k] {
		return false
	}
	q.used[k]++
	return true
}
