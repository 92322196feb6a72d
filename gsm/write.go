package gsm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/airbytehq/ci-secrets/internal/wait"
)

const writeRole = "roles/secretmanager.secretVersionAdder (secretmanager.versions.add) and roles/secretmanager.secretVersionManager (secretmanager.versions.disable) on the secret"

// CreateSecret creates a secret with automatic replication and the given
// labels, and adds data as its first version. It returns the version number.
func (c *Client) CreateSecret(ctx context.Context, id string, lbls map[string]string, data []byte) (string, error) {
	err := c.doWrite(ctx, func(ctx context.Context) error {
		_, err := c.sm.CreateSecret(ctx, &secretmanagerpb.CreateSecretRequest{
			Parent:   c.parent,
			SecretId: id,
			Secret: &secretmanagerpb.Secret{
				Labels:      lbls,
				Replication: c.replication(),
			},
		}, capped(smallMaxMsg)...)
		return err
	})
	if err != nil {
		return "", c.explain(err, "create secret "+id, "roles/secretmanager.admin (permission secretmanager.secrets.create) on the project")
	}
	return c.AddVersion(ctx, id, data)
}

func (c *Client) replication() *secretmanagerpb.Replication {
	if c.cfg.Location != "" {
		return nil // regional secrets carry no replication policy
	}
	return &secretmanagerpb.Replication{Replication: &secretmanagerpb.Replication_Automatic_{Automatic: &secretmanagerpb.Replication_Automatic{}}}
}

// doWrite retries a write only where GSM guarantees it had no effect:
// RESOURCE_EXHAUSTED is refused before anything happens, while UNAVAILABLE or a
// deadline may hide a write that went through.
func (c *Client) doWrite(ctx context.Context, call func(ctx context.Context) error) error {
	var err error
	for attempt := 0; attempt < 6; attempt++ {
		err = c.do(ctx, &c.stats.write, call)
		if status.Code(err) != codes.ResourceExhausted || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// AddVersion adds data as the secret's newest version, with its CRC32C so the
// server can refuse a corrupted upload. An add is never blindly repeated: after
// an ambiguous failure it checks whether the newest version already holds the
// data, and retries only if it does not.
func (c *Client) AddVersion(ctx context.Context, secretID string, data []byte) (string, error) {
	if len(data) > MaxPayload {
		return "", fmt.Errorf("add a version to %s: the payload is %d bytes, over GSM's %d-byte limit", secretID, len(data), MaxPayload)
	}
	sum := int64(crc32.Checksum(data, castagnoli))
	req := &secretmanagerpb.AddSecretVersionRequest{
		Parent:  c.secretName(secretID),
		Payload: &secretmanagerpb.SecretPayload{Data: data, DataCrc32C: &sum},
	}
	for attempt := 0; ; attempt++ {
		if err := c.haltedErr(); err != nil {
			return "", fmt.Errorf("add a version to %s: %w", secretID, err)
		}
		var resp *secretmanagerpb.SecretVersion
		// One attempt per call: the ambiguity check below replaces blind retries.
		p := c.retry
		c.stats.write.Add(1)
		rctx, cancelRun := c.runContext(ctx)
		actx, cancel := context.WithTimeout(rctx, p.Attempt)
		resp, err := c.sm.AddSecretVersion(actx, req, capped(smallMaxMsg)...)
		cancel()
		cancelRun()
		if err == nil {
			num, ok := versionNumber(resp.GetName(), secretID)
			if !ok {
				return "", fmt.Errorf("add a version to %s: %w: Secret Manager at %s answered the add with the version name %s; list the secret's versions to see what was added",
					secretID, ErrBadAnswer, c.endpointName(), quoteServerText(resp.GetName()))
			}
			return num, nil
		}
		code := status.Code(err)
		ambiguous := MayHaveTakenEffect(err)
		if ambiguous {
			// The add may have gone through with its answer lost: look
			// before anything else, the last attempt included.
			v, found, cerr := c.landed(ctx, secretID, data)
			switch {
			case found:
				return v, nil
			case cerr != nil:
				// Neither the add's answer nor the check came back: adding
				// again could leave two versions holding the update.
				return "", fmt.Errorf("add a version to %s: %w: the add was not answered (%w) and checking whether it went through failed too (%v); list the secret's versions before trying again", secretID, ErrOutcomeUnknown, sanitized(err), cerr)
			}
		}
		if !(ambiguous || code == codes.ResourceExhausted) || attempt >= 4 || ctx.Err() != nil {
			return "", c.explain(err, "add a version to "+secretID, writeRole)
		}
		c.stats.retries.Add(1)
		// GSM allows about 2 adds per second per secret.
		if err := wait.Sleep(ctx, max(backoffFor(p, attempt, code), p.AddSpacing)); err != nil {
			return "", c.explain(err, "add a version to "+secretID, writeRole)
		}
	}
}

// MayHaveTakenEffect reports whether a write that failed with err may have
// been carried out all the same. Only the codes with which GSM refuses a
// request before acting prove that nothing happened, and so does an error of
// the client's own that carries no gRPC status (a permission it explained, a
// payload it refused to send). Everything else (UNAVAILABLE,
// DEADLINE_EXCEEDED, INTERNAL, ABORTED, UNKNOWN, ..., ErrOutcomeUnknown, a
// deadline or cancellation) may come after the write was committed.
func MayHaveTakenEffect(err error) bool {
	if errors.Is(err, ErrOutcomeUnknown) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	st, ok := status.FromError(err)
	if !ok {
		return false
	}
	switch st.Code() {
	case codes.InvalidArgument, codes.PermissionDenied, codes.Unauthenticated, codes.NotFound,
		codes.FailedPrecondition, codes.ResourceExhausted, codes.AlreadyExists, codes.OutOfRange,
		codes.Unimplemented:
		return false
	}
	return true
}

// landed reports whether the newest version of the secret already holds
// data. An error means it could not tell.
func (c *Client) landed(ctx context.Context, secretID string, data []byte) (version string, found bool, err error) {
	vs, err := c.listVersions(ctx, secretID, "", 1)
	if err != nil {
		return "", false, err
	}
	if len(vs) == 0 || vs[0].State != "ENABLED" {
		return "", false, nil
	}
	p, err := c.accessVersion(ctx, secretID, vs[0].Number)
	if err != nil {
		return "", false, err
	}
	return vs[0].Number, bytes.Equal(p.Data(), data), nil
}

// DisableVersion disables one version. Disabling is idempotent, so it is
// retried like a read; but an attempt whose answer was lost (or that ran
// into a deadline) may have been carried out, so before anything else the
// version's state is read back (one GetSecretVersion): a version found
// DISABLED is a disable done, whatever the lost answer said. When neither
// the disable nor the check comes back, the outcome is ErrOutcomeUnknown.
func (c *Client) DisableVersion(ctx context.Context, secretID, version string) error {
	name := c.secretName(secretID) + "/versions/" + version
	op := "disable version " + version + " of " + secretID
	// unchecked is set while the last attempt may have been carried out
	// and no check has said whether it was.
	var unchecked bool
	var lost, checkErr error
	// GSM allows one state change per second per version, retries included.
	err := c.doSpaced(ctx, &c.stats.write, c.retry.StateSpacing, func(actx context.Context) error {
		_, err := c.sm.DisableSecretVersion(actx, &secretmanagerpb.DisableSecretVersionRequest{Name: name}, capped(smallMaxMsg)...)
		unchecked = err != nil && MayHaveTakenEffect(err)
		if !unchecked || ctx.Err() != nil {
			return err
		}
		lost = err
		// The attempt's own context may be what ran out: check on the
		// operation's.
		disabled, cerr := c.disabled(ctx, name)
		checkErr = cerr
		switch {
		case cerr != nil:
			return err
		case disabled:
			return nil
		}
		unchecked = false // still enabled: the disable did not happen
		return err
	})
	switch {
	case err == nil:
		return nil
	case unchecked && ctx.Err() == nil:
		why := "the client halted before it could check"
		if checkErr != nil {
			why = "reading the version's state failed too (" + checkErr.Error() + ")"
		}
		return fmt.Errorf("%s: %w: the disable was not answered (%v) and %s; look with `gcloud secrets versions describe %s --secret=%s`",
			op, ErrOutcomeUnknown, sanitized(lost), why, version, secretID)
	}
	return c.explain(err, op, writeRole)
}

// disabled reads whether a version is DISABLED (or DESTROYED: not
// serving either) with one GetSecretVersion, not retried.
func (c *Client) disabled(ctx context.Context, name string) (bool, error) {
	if err := c.haltedErr(); err != nil {
		return false, err
	}
	c.stats.read.Add(1)
	rctx, cancelRun := c.runContext(ctx)
	defer cancelRun()
	actx, cancel := context.WithTimeout(rctx, c.retry.Attempt)
	defer cancel()
	v, err := c.sm.GetSecretVersion(actx, &secretmanagerpb.GetSecretVersionRequest{Name: name}, capped(smallMaxMsg)...)
	if err != nil {
		return false, sanitized(err)
	}
	switch v.GetState() {
	case secretmanagerpb.SecretVersion_DISABLED, secretmanagerpb.SecretVersion_DESTROYED:
		return true, nil
	}
	return false, nil
}
