package actorpool

import (
	"fmt"
	"log/slog"
	"time"
)

// Config tunes a pool. The zero value is valid: every zero field takes the
// default written next to it. New rejects negative values and MinConns >
// MaxConns with ErrInvalidConfig.
type Config struct {
	// MinConns connections are dialled at start and kept open.
	// default: 0
	MinConns int
	// MaxConns bounds the connections open at once, leased or idle.
	// default: 10
	MaxConns int
	// AcquireTimeout bounds how long Acquire waits for a connection when
	// its ctx has no earlier deadline.
	// default: 30s
	AcquireTimeout time.Duration
	// LeaseTimeout revokes a lease held longer: its connection is closed
	// and replaced, and the holder's Release returns ErrLeaseRevoked.
	// Checked every quarter of the timeout (at most every second).
	// default: 0 (off)
	LeaseTimeout time.Duration
	// LeakWarnAfter logs, once, the acquirer's stack trace when a lease is
	// held this long, and an Info line when it is finally released.
	// default: 0 (off)
	LeakWarnAfter time.Duration
	// MaxWaiters bounds the callers waiting for a connection; beyond it
	// Acquire fails at once with ErrTooManyWaiters.
	// default: 0 (unbounded)
	MaxWaiters int
	// DialTimeout bounds each dial, and each reset of a returned
	// connection.
	// default: 5s
	DialTimeout time.Duration
	// BackoffMin is the first delay before redialling after a failed dial;
	// it doubles with each consecutive failure, up to BackoffMax, and the
	// actual delay is drawn from [d/2, d].
	// default: 100ms
	BackoffMin time.Duration
	// BackoffMax caps the redial delay.
	// default: 5s
	BackoffMax time.Duration
	// Logger receives the pool's own log lines (leak warnings, revoked
	// leases, failed resets).
	// default: a logger that discards everything
	Logger *slog.Logger
}

const (
	defaultMaxConns       = 10
	defaultAcquireTimeout = 30 * time.Second
	defaultDialTimeout    = 5 * time.Second
	defaultBackoffMin     = 100 * time.Millisecond
	defaultBackoffMax     = 5 * time.Second
)

// withDefaults validates c and fills its zero fields.
func (c Config) withDefaults() (Config, error) {
	for _, f := range []struct {
		name string
		v    int
	}{{"MinConns", c.MinConns}, {"MaxConns", c.MaxConns}, {"MaxWaiters", c.MaxWaiters}} {
		if f.v < 0 {
			return c, fmt.Errorf("%w: %s is %d, must not be negative", ErrInvalidConfig, f.name, f.v)
		}
	}
	for _, f := range []struct {
		name string
		v    time.Duration
	}{
		{"AcquireTimeout", c.AcquireTimeout}, {"LeaseTimeout", c.LeaseTimeout},
		{"LeakWarnAfter", c.LeakWarnAfter}, {"DialTimeout", c.DialTimeout},
		{"BackoffMin", c.BackoffMin}, {"BackoffMax", c.BackoffMax},
	} {
		if f.v < 0 {
			return c, fmt.Errorf("%w: %s is %s, must not be negative", ErrInvalidConfig, f.name, f.v)
		}
	}
	if c.MaxConns == 0 {
		c.MaxConns = max(defaultMaxConns, c.MinConns)
	}
	if c.MinConns > c.MaxConns {
		return c, fmt.Errorf("%w: MinConns (%d) is above MaxConns (%d)", ErrInvalidConfig, c.MinConns, c.MaxConns)
	}
	if c.AcquireTimeout == 0 {
		c.AcquireTimeout = defaultAcquireTimeout
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = defaultDialTimeout
	}
	if c.BackoffMin == 0 {
		c.BackoffMin = defaultBackoffMin
	}
	if c.BackoffMax == 0 {
		c.BackoffMax = max(defaultBackoffMax, c.BackoffMin)
	}
	if c.BackoffMin > c.BackoffMax {
		return c, fmt.Errorf("%w: BackoffMin (%s) is above BackoffMax (%s)", ErrInvalidConfig, c.BackoffMin, c.BackoffMax)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}
