package actorpool

import (
	"fmt"
	"log/slog"
	"math"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Off turns off a lifecycle setting whose zero value means a default that
// is on: IdleTimeout, MaxLifetime, KeepaliveInterval, ValidateAfterIdle.
// LeaseTimeout and LeakWarnAfter accept it too (their zero is already off).
const Off time.Duration = math.MaxInt64

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
	// Checked every quarter of the shorter of LeaseTimeout and
	// LeakWarnAfter (at most every second).
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
	// QueueTarget turns on overload control: when the oldest waiter has
	// waited longer than QueueTarget for a whole QueueInterval, the pool
	// is overloaded; a connection that comes back then goes to the newest
	// waiter instead of the oldest, and waiters past twice QueueTarget are
	// failed, as connections come back, with ErrOverloaded (which also
	// matches ErrAcquireTimeout). The callers who get a connection get it
	// fast, and the others learn early, instead of everyone waiting nearly
	// AcquireTimeout. It ends once the oldest wait has stayed under
	// QueueTarget (or the line empty) for a QueueInterval; until then, and
	// whenever it is off, waiters are served first come, first served.
	// Off by default, because a caller who set a long AcquireTimeout asked
	// to wait, and first come, first served is what the pool promises
	// otherwise.
	// default: 0 (off)
	QueueTarget time.Duration
	// QueueInterval is how long the oldest wait must stay above
	// QueueTarget before the pool counts as overloaded, and under it
	// before it no longer does.
	// default: 100ms (when QueueTarget is set)
	QueueInterval time.Duration
	// DialTimeout bounds each dial, and each reset of a returned
	// connection.
	// default: 5s
	DialTimeout time.Duration
	// BackoffMin is the first delay before redialling after a failed dial;
	// it doubles with each consecutive failure, up to BackoffMax, and the
	// actual delay is drawn from [d/2, d]. While no connection is alive and
	// callers are being failed fast, the one probing connection redials
	// BackoffMin/10 (jittered) after each failure instead.
	// default: 100ms
	BackoffMin time.Duration
	// BackoffMax caps the redial delay.
	// default: 5s
	BackoffMax time.Duration
	// IdleTimeout closes a connection that sat idle this long, as long as
	// the pool stays at or above MinConns. The longest idle go first.
	// default: 10m
	IdleTimeout time.Duration
	// MaxLifetime closes a connection this long after its dial, less a
	// random jitter of up to a tenth, so that connections dialled together
	// do not all go at once. A leased connection is never cut: it is closed
	// when given back, and replaced when the pool needs it (MinConns, or
	// waiters).
	// default: 30m
	MaxLifetime time.Duration
	// KeepaliveInterval pings a connection that sat idle this long (since
	// its last use or ping). A failed ping closes and replaces it before
	// any caller sees it. One minute stays under the idle limits of common
	// load balancers and NAT tables (Azure 4m, AWS NLB 350s) and costs one
	// ping per idle connection per minute.
	// default: 1m
	KeepaliveInterval time.Duration
	// ValidateAfterIdle pings a connection that sat idle this long before
	// it is lent; when the ping fails the connection is replaced and the
	// caller gets another one, not an error. A connection in steady use is
	// never pinged: lending does not read the clock, the maintenance tick
	// flags idle connections ahead of time. Idle ages are measured with a
	// resolution of a quarter of the shortest lifecycle setting (at most
	// 1s), so a connection idle a little less may be pinged too. Five
	// seconds catches a server restart or a dropped connection after a
	// quiet spell for the price of one round trip, which is what pgx (1s)
	// and HikariCP (500ms) also pay.
	// default: 5s
	ValidateAfterIdle time.Duration
	// MaxBatch bounds the commands a connection writes as one batch in
	// command mode (Pool.Do); work beyond it goes in the next batch. On a
	// backend without a writer and reader (not a backends.Duplexer), that
	// batch waits for the next round trip, and command mode takes another
	// connection.
	// default: 256
	MaxBatch int
	// MaxBatchBytes bounds the bytes of a command-mode batch past its first
	// command, so that one large value does not hold up small ones behind
	// a long write.
	// default: 1 MiB
	MaxBatchBytes int
	// IdleOrder is the order idle connections are lent in: LIFO keeps few
	// connections hot (the others idle out after IdleTimeout), FIFO
	// spreads use over every connection, as go-redis's PoolFIFO.
	// default: LIFO
	IdleOrder IdleOrder
	// Logger receives the pool's own log lines (leak warnings, revoked
	// leases, failed resets).
	// default: a logger that discards everything
	Logger *slog.Logger
	// Name names the pool in metrics and spans: their
	// db.client.connection.pool.name attribute. Give each pool of an
	// application its own.
	// default: the backend's Name (backends.Namer), such as
	// "redis://127.0.0.1:6379/0", never with a password; "actorpool" for a
	// backend without one
	Name string
	// MeterProvider receives the pool's metrics: OpenTelemetry's
	// db.client.connection.* instruments and the pool's own actorpool.*
	// ones (see docs/metrics.md). Gauges and counters are
	// read from the Stats snapshot when the provider collects; the wait,
	// use and create time histograms are recorded as acquires, leases and
	// dials happen. Close unregisters them.
	// default: nil (no metrics, and nothing recorded on Acquire or Release)
	MeterProvider metric.MeterProvider
	// TracerProvider receives a span for every Acquire (AcquireSpanName),
	// with the wait and the outcome (AttrAcquireOutcome).
	// default: nil (no spans)
	TracerProvider trace.TracerProvider
}

const (
	defaultMaxConns       = 10
	defaultAcquireTimeout = 30 * time.Second
	defaultDialTimeout    = 5 * time.Second
	defaultBackoffMin     = 100 * time.Millisecond
	defaultBackoffMax     = 5 * time.Second
	defaultMaxBatch       = 256
	defaultQueueInterval  = 100 * time.Millisecond
	defaultMaxBatchBytes  = 1 << 20

	defaultIdleTimeout       = 10 * time.Minute
	defaultMaxLifetime       = 30 * time.Minute
	defaultKeepaliveInterval = time.Minute
	defaultValidateAfterIdle = 5 * time.Second
)

// withDefaults validates c and fills its zero fields.
func (c Config) withDefaults() (Config, error) {
	for _, f := range []struct {
		name string
		v    int
	}{
		{"MinConns", c.MinConns}, {"MaxConns", c.MaxConns}, {"MaxWaiters", c.MaxWaiters},
		{"MaxBatch", c.MaxBatch}, {"MaxBatchBytes", c.MaxBatchBytes},
	} {
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
		{"IdleTimeout", c.IdleTimeout}, {"MaxLifetime", c.MaxLifetime},
		{"KeepaliveInterval", c.KeepaliveInterval}, {"ValidateAfterIdle", c.ValidateAfterIdle},
		{"QueueTarget", c.QueueTarget}, {"QueueInterval", c.QueueInterval},
	} {
		if f.v < 0 {
			return c, fmt.Errorf("%w: %s is %s, must not be negative", ErrInvalidConfig, f.name, f.v)
		}
	}
	for _, f := range []struct {
		v   *time.Duration
		def time.Duration
	}{
		{&c.IdleTimeout, defaultIdleTimeout}, {&c.MaxLifetime, defaultMaxLifetime},
		{&c.KeepaliveInterval, defaultKeepaliveInterval}, {&c.ValidateAfterIdle, defaultValidateAfterIdle},
		{&c.AcquireTimeout, defaultAcquireTimeout}, {&c.DialTimeout, defaultDialTimeout},
	} {
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	// From here on, zero means off.
	for _, v := range []*time.Duration{
		&c.IdleTimeout, &c.MaxLifetime, &c.KeepaliveInterval, &c.ValidateAfterIdle,
		&c.LeaseTimeout, &c.LeakWarnAfter,
	} {
		if *v == Off {
			*v = 0
		}
	}
	if c.MaxConns == 0 {
		c.MaxConns = max(defaultMaxConns, c.MinConns)
	}
	if c.MinConns > c.MaxConns {
		return c, fmt.Errorf("%w: MinConns (%d) is above MaxConns (%d)", ErrInvalidConfig, c.MinConns, c.MaxConns)
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
	if c.QueueTarget > 0 && c.QueueInterval == 0 {
		c.QueueInterval = defaultQueueInterval
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = defaultMaxBatch
	}
	if c.MaxBatchBytes == 0 {
		c.MaxBatchBytes = defaultMaxBatchBytes
	}
	if c.IdleOrder != LIFO && c.IdleOrder != FIFO {
		return c, fmt.Errorf("%w: IdleOrder is %d, must be LIFO or FIFO", ErrInvalidConfig, c.IdleOrder)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}
