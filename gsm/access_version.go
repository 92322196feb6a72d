package gsm

import "context"

// AccessVersion reads one numbered version, for a caller that already knows
// from version metadata which one is the newest enabled (doctor --drift): one
// access request, no `latest` alias and so no fallback. A disabled or
// destroyed version is an error naming it.
func (c *Client) AccessVersion(ctx context.Context, secretID, version string) (*Payload, error) {
	return c.accessVersion(ctx, secretID, version)
}
