package doctor

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/airbytehq/ci-secrets/gsm"
)

// Budget is the part of *gsm.Client that holds the run's time bound
// (--timeout), which every call of the run shares, paced waits included.
type Budget interface {
	Deadline() time.Time
	Timeout() time.Duration
	ExtendTimeout(d time.Duration)
}

// TimeoutError is a --timeout the user gave that ends before the paced
// version reads can: doctor refuses to start them (a usage error, exit 2)
// rather than fail most secrets at the deadline.
type TimeoutError struct {
	Reads     int           // version reads the run needs
	PerMinute int           // --reads-per-minute
	Pacing    time.Duration // the least time the reads take at that pace
	Timeout   time.Duration // the run's bound
	Left      time.Duration // what is left of it
	Suggest   time.Duration // a --timeout that fits
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("--timeout %s leaves %s, but checking the versions of %d secrets takes at least %s at --reads-per-minute %d "+
		"(the project's read quota is %d a minute, shared by every CI job), so most of them would fail at the deadline: "+
		"give --timeout %s, or leave --timeout out (doctor then adds the pacing time to the default), "+
		"or name fewer connectors, or raise --reads-per-minute if the project's quota was raised",
		e.Timeout, roughly(e.Left), e.Reads, roughly(e.Pacing), e.PerMinute, readQuota, e.Suggest)
}

// roughly words a duration for people, to a tenth of a second.
func roughly(d time.Duration) string { return d.Round(100 * time.Millisecond).String() }

// readQuota is GSM's default read quota, per project and minute.
const readQuota = 600

// fitBudget squares the run's time bound with the paced reads about to be
// made. Without a --timeout from the user, the bound (the default) is
// extended by the pacing time, so a big project is not cut off by a default
// meant for a sync; a --timeout the user gave is kept, and refused with a
// *TimeoutError when what is left of it is shorter than the pacing. Either
// way the user is told up front how long the reads take.
func fitBudget(ctx context.Context, b Budget, reads int, pace *Pacer, given bool, now func() time.Time) error {
	est := pace.Estimate(reads)
	if est <= 0 {
		return nil
	}
	log := zerolog.Ctx(ctx).Info().Int("secrets", reads).Int("reads_per_minute", pace.perMinute).Str("at_least", roughly(est))
	what := fmt.Sprintf("checking the versions of %d secrets costs %d read requests, paced to %d a minute (--reads-per-minute) to stay under the project's read quota: at least %s",
		reads, reads, pace.perMinute, roughly(est))
	dl := b.Deadline()
	switch {
	case dl.IsZero():
		log.Msg(what)
	case !given:
		b.ExtendTimeout(est)
		log.Str("timeout", roughly(b.Timeout())).
			Msg(fmt.Sprintf("%s; --timeout was not given, so the run's time limit is %s: the default plus the pacing", what, roughly(b.Timeout())))
	default:
		left := dl.Sub(now())
		if left < est {
			spent := max(b.Timeout()-left, 0)
			return &TimeoutError{
				Reads: reads, PerMinute: pace.perMinute, Pacing: est,
				Timeout: b.Timeout(), Left: max(left, 0),
				Suggest: (spent + est + gsm.DefaultTimeout + time.Minute - 1).Truncate(time.Minute),
			}
		}
		log.Str("timeout", b.Timeout().String()).Msg(fmt.Sprintf("%s, within --timeout %s", what, b.Timeout()))
	}
	return nil
}
