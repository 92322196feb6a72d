package gsm

import "time"

// Deadline is when the run's calls end (Config.Timeout from New, as
// extended); zero when the run has no bound.
func (c *Client) Deadline() time.Time {
	if n := c.deadline.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// Timeout is the length of the run's bound (Config.Timeout plus every
// extension); zero when the run has none.
func (c *Client) Timeout() time.Duration { return time.Duration(c.timeout.Load()) }

// ExtendTimeout moves the run's deadline d later. A job that learns only
// from its first answer how long its calls must take (doctor, pacing its
// version reads to the project's quota) gives them that time on top of the
// bound it started with. A run without a bound stays without one, and a
// client already halted for a spent deadline stays halted.
func (c *Client) ExtendTimeout(d time.Duration) {
	if d <= 0 || c.deadline.Load() == 0 {
		return
	}
	c.deadline.Add(int64(d))
	c.timeout.Add(int64(d))
}
