package budget

import (
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/actorpool/actorpool"
)

// Config is one member's side of a budget. Name and Budget must be the
// same on every member; if budgets differ, the smallest applies.
type Config struct {
	// Name names the budget: the members whose pools join with the same
	// Name share it. Required.
	Name string
	// Budget is how many connections the members' pools may have open
	// together. Required, at least 1.
	Budget int
	// Floor is the share an idle member keeps, so that its first callers
	// need not wait for the others to make room.
	// default: 1
	Floor int
	// Interval is how often the member measures its pool, recomputes the
	// allocation and publishes its state.
	// default: 100ms
	Interval time.Duration
	// Window is how long a member keeps wanting more after its callers
	// waited, and over which its peak use counts as its demand.
	// default: 1s
	Window time.Duration
	// Settle is how long a connection the pool let go still counts
	// against the budget: the reserve for connections still closing. At
	// least Interval.
	// default: 2 × Interval
	Settle time.Duration
	// MeterProvider receives the member's Status as OpenTelemetry gauges
	// (actorpool.budget.limit, .share, .claim, .demand, .members, .size,
	// .agreed), with the attribute actorpool.budget.name.
	// default: none
	MeterProvider metric.MeterProvider
	// Logger receives the member's warnings: a failed SetLimits, gossip
	// that cannot be read, a member's state that does not decode.
	// default: slog.Default()
	Logger *slog.Logger
}

func (c Config) withDefaults() (Config, error) {
	switch {
	case c.Name == "":
		return c, fmt.Errorf("%w: budget Name is empty", actorpool.ErrInvalidConfig)
	case c.Budget < 1:
		return c, fmt.Errorf("%w: Budget is %d, must be at least 1", actorpool.ErrInvalidConfig, c.Budget)
	case c.Floor < 0:
		return c, fmt.Errorf("%w: Floor is %d, must not be negative", actorpool.ErrInvalidConfig, c.Floor)
	case c.Interval < 0 || c.Window < 0 || c.Settle < 0:
		return c, fmt.Errorf("%w: Interval, Window and Settle must not be negative", actorpool.ErrInvalidConfig)
	}
	if c.Floor == 0 {
		c.Floor = 1
	}
	if c.Interval == 0 {
		c.Interval = 100 * time.Millisecond
	}
	if c.Window == 0 {
		c.Window = time.Second
	}
	if c.Settle == 0 {
		c.Settle = 2 * c.Interval
	}
	if c.Settle < c.Interval {
		return c, fmt.Errorf("%w: Settle (%v) is below Interval (%v)", actorpool.ErrInvalidConfig, c.Settle, c.Interval)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}
