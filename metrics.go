package actorpool

// This file is the pool's metrics: the instruments of OpenTelemetry's
// semantic conventions for database client connection pools (v1.43.0,
// through the otel module's generated dbconv package), and the pool's own
// under the actorpool. prefix. Every gauge and counter is observable: one
// callback reads the ledger's snapshot at each collection, so a scrape
// sends no message and costs Acquire nothing. The wait and use histograms
// are counted as leases start and end, in the pool's own lock-free
// histograms (internal/hist: a bucket search and two atomic adds), and
// handed to the SDK's histograms at each collection, by the same callback:
// what a lease costs is one clock read at its grant (none when an idle
// connection is lent at once, whose wait is recorded as 0) and one at its
// end. The create histogram, a dial's, is recorded directly.

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/semconv/v1.43.0/dbconv"

	"github.com/actorpool/actorpool/internal/hist"
	"github.com/actorpool/actorpool/internal/ledger"
)

// instrumentationName names the meter and the tracer.
const instrumentationName = "github.com/actorpool/actorpool"

// durationBuckets are the histograms' bucket boundaries, in seconds: from
// a microsecond (an acquire served from an idle connection) to thirty
// seconds (the default AcquireTimeout).
var durationBuckets = []float64{
	0.000001, 0.00001, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
	0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
}

// poolCounters are the pool's own cumulative counts, each read from the
// snapshot.
var poolCounters = []struct {
	name, unit, desc string
	read             func(*ledger.Snapshot) uint64
}{
	{"actorpool.acquire.granted", "{lease}", "Leases granted.",
		func(s *ledger.Snapshot) uint64 { return s.Acquired }},
	{"actorpool.acquire.failed_fast", "{request}", "Acquires failed at once with ErrBackendUnavailable while the circuit was open.",
		func(s *ledger.Snapshot) uint64 { return s.FailedFast }},
	{"actorpool.acquire.rejected", "{request}", "Acquires refused with ErrTooManyWaiters.",
		func(s *ledger.Snapshot) uint64 { return s.Rejected }},
	{"actorpool.connection.dials", "{connection}", "Successful dials.",
		func(s *ledger.Snapshot) uint64 { return s.Dials }},
	{"actorpool.connection.dial_errors", "{error}", "Failed dials.",
		func(s *ledger.Snapshot) uint64 { return s.DialErrors }},
	{"actorpool.connection.restarts", "{restart}", "Connections that replaced an earlier one of the same connection actor.",
		func(s *ledger.Snapshot) uint64 { return s.Restarts }},
	{"actorpool.lease.broken", "{lease}", "Leases whose connection was found unusable (MarkBroken, or a failed reset).",
		func(s *ledger.Snapshot) uint64 { return s.Broken }},
	{"actorpool.lease.revoked", "{lease}", "Leases revoked for LeaseTimeout or Close.",
		func(s *ledger.Snapshot) uint64 { return s.Revoked }},
	{"actorpool.lease.reclaimed", "{lease}", "Leases taken back because the owner actor stopped.",
		func(s *ledger.Snapshot) uint64 { return s.Reclaimed }},
	{"actorpool.lease.leak_warnings", "{warning}", "Leases reported held past LeakWarnAfter.",
		func(s *ledger.Snapshot) uint64 { return s.LeakWarnings }},
	{"actorpool.circuit.opens", "{open}", "Times the circuit opened: the last live connection went while dials failed.",
		func(s *ledger.Snapshot) uint64 { return s.CircuitOpens }},
	{"actorpool.acquire.shed", "{request}", "Acquires failed with ErrOverloaded by overload control (QueueTarget).",
		func(s *ledger.Snapshot) uint64 { return s.Shed }},
	{"actorpool.overloads", "{overload}", "Times overload control (QueueTarget) found the pool overloaded.",
		func(s *ledger.Snapshot) uint64 { return s.Overloads }},
}

// metrics are a pool's instruments. The ledger counts waits (at each
// grant) and uses (when a holder ends a lease) in waits and uses, which
// report drains into the wait and use histograms; the timed backend
// records create. The rest are observed by report, from the pool's New
// (observe) to its Close (stop).
type metrics struct {
	meter    metric.Meter
	observed []metric.Observable
	stats    func() Stats        // set by observe
	reg      metric.Registration // set by observe

	rec []metric.RecordOption // the pool's name, built once

	wait, use, create metric.Float64Histogram
	waits, uses       *hist.Histogram // drained into wait and use by report

	count, idleMax, idleMin, max, pending, dialing metric.Int64ObservableUpDownCounter
	cmdConns, cmdInFlight                          metric.Int64ObservableUpDownCounter // command mode
	cmdCommands, cmdBatches                        metric.Int64ObservableCounter
	timeouts                                       metric.Int64ObservableCounter
	circuit                                        metric.Int64ObservableGauge
	own                                            []metric.Int64ObservableCounter // poolCounters'

	pool, idle, used metric.ObserveOption
}

// newMetrics creates the instruments on mp's meter.
func newMetrics(mp metric.MeterProvider, name string) (*metrics, error) {
	meter := mp.Meter(instrumentationName, metric.WithSchemaURL(semconv.SchemaURL))
	poolAttr := semconv.DBClientConnectionPoolName(name)
	m := &metrics{
		meter: meter,
		rec:   []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(poolAttr))},
		waits: hist.New(durationBuckets),
		uses:  hist.New(durationBuckets),
		pool:  metric.WithAttributeSet(attribute.NewSet(poolAttr)),
		idle:  metric.WithAttributeSet(attribute.NewSet(poolAttr, semconv.DBClientConnectionStateIdle)),
		used:  metric.WithAttributeSet(attribute.NewSet(poolAttr, semconv.DBClientConnectionStateUsed)),
	}
	var errs []error
	keep := func(err error) { errs = append(errs, err) }
	buckets := metric.WithExplicitBucketBoundaries(durationBuckets...)

	wait, err := dbconv.NewClientConnectionWaitTime(meter, buckets)
	m.wait = wait.Inst()
	keep(err)
	use, err := dbconv.NewClientConnectionUseTime(meter, buckets)
	m.use = use.Inst()
	keep(err)
	create, err := dbconv.NewClientConnectionCreateTime(meter, buckets)
	m.create = create.Inst()
	keep(err)

	count, err := dbconv.NewClientConnectionCountObservable(meter)
	m.count = count.Inst()
	keep(err)
	idleMax, err := dbconv.NewClientConnectionIdleMaxObservable(meter)
	m.idleMax = idleMax.Inst()
	keep(err)
	idleMin, err := dbconv.NewClientConnectionIdleMinObservable(meter)
	m.idleMin = idleMin.Inst()
	keep(err)
	maxConns, err := dbconv.NewClientConnectionMaxObservable(meter)
	m.max = maxConns.Inst()
	keep(err)
	pending, err := dbconv.NewClientConnectionPendingRequestsObservable(meter)
	m.pending = pending.Inst()
	keep(err)
	timeouts, err := dbconv.NewClientConnectionTimeoutsObservable(meter)
	m.timeouts = timeouts.Inst()
	keep(err)

	m.dialing, err = meter.Int64ObservableUpDownCounter("actorpool.connection.dialing",
		metric.WithUnit("{connection}"),
		metric.WithDescription("Connection actors without a connection: dialling, or waiting to redial."))
	keep(err)
	m.circuit, err = meter.Int64ObservableGauge("actorpool.circuit.open",
		metric.WithDescription("1 while the circuit is open (acquires fail fast with ErrBackendUnavailable), else 0."))
	keep(err)
	m.cmdConns, err = meter.Int64ObservableUpDownCounter("actorpool.command.connections",
		metric.WithUnit("{connection}"),
		metric.WithDescription("Connections serving command mode (counted as used too)."))
	keep(err)
	m.cmdInFlight, err = meter.Int64ObservableUpDownCounter("actorpool.command.in_flight",
		metric.WithUnit("{command}"),
		metric.WithDescription("Commands handed to command mode and not yet answered."))
	keep(err)
	m.cmdCommands, err = meter.Int64ObservableCounter("actorpool.command.commands",
		metric.WithUnit("{command}"), metric.WithDescription("Commands written in command mode."))
	keep(err)
	m.cmdBatches, err = meter.Int64ObservableCounter("actorpool.command.batches",
		metric.WithUnit("{batch}"),
		metric.WithDescription("Batches written in command mode; commands / batches is the mean batch size."))
	keep(err)
	observed := []metric.Observable{m.count, m.idleMax, m.idleMin, m.max, m.pending, m.timeouts, m.dialing, m.circuit,
		m.cmdConns, m.cmdInFlight, m.cmdCommands, m.cmdBatches}
	for _, c := range poolCounters {
		inst, err := meter.Int64ObservableCounter(c.name, metric.WithUnit(c.unit), metric.WithDescription(c.desc))
		keep(err)
		m.own = append(m.own, inst)
		observed = append(observed, inst)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	m.observed = observed
	return m, nil
}

// observe registers the callback that reports stats at each collection.
func (m *metrics) observe(stats func() Stats) error {
	m.stats = stats
	reg, err := m.meter.RegisterCallback(m.report, m.observed...)
	m.reg = reg
	return err
}

// stop unregisters the callback: a closed pool reports nothing more. The
// waits and uses counted since the last collection go to the histograms
// first, so the next collection still has them.
func (m *metrics) stop() {
	if m.reg != nil {
		_ = m.reg.Unregister()
	}
	m.drain()
}

// drain hands the waits and uses counted since the last drain to the
// SDK's histograms: each bucket's new count, at the bucket's mean, so the
// histograms' counts, buckets and sums are those of the leases (min and
// max are bucket means). A collection costs one Record per lease since the
// last one, on the collecting goroutine.
func (m *metrics) drain() {
	ctx := context.Background()
	for _, h := range []struct {
		from *hist.Histogram
		to   metric.Float64Histogram
	}{{m.waits, m.wait}, {m.uses, m.use}} {
		h.from.Drain(func(mean time.Duration, n uint64) {
			v := mean.Seconds()
			for range n {
				h.to.Record(ctx, v, m.rec...)
			}
		})
	}
}

// report drains the histograms and observes one snapshot of the ledger,
// read under its lock; the observations are made after the lock is
// released.
func (m *metrics) report(_ context.Context, o metric.Observer) error {
	m.drain()
	st := m.stats()
	s := st.s
	o.ObserveInt64(m.cmdConns, int64(st.CommandConns()), m.pool)
	o.ObserveInt64(m.cmdInFlight, int64(st.CommandsInFlight()), m.pool)
	o.ObserveInt64(m.cmdCommands, int64(st.Commands()), m.pool)
	o.ObserveInt64(m.cmdBatches, int64(st.Batches()), m.pool)
	o.ObserveInt64(m.count, int64(s.Idle), m.idle)
	o.ObserveInt64(m.count, int64(s.Leased), m.used)
	// Every connection may sit idle: the idle bounds are the pool's.
	o.ObserveInt64(m.idleMax, int64(s.MaxConns), m.pool)
	o.ObserveInt64(m.idleMin, int64(s.MinConns), m.pool)
	o.ObserveInt64(m.max, int64(s.MaxConns), m.pool)
	o.ObserveInt64(m.pending, int64(s.Waiting), m.pool)
	o.ObserveInt64(m.timeouts, int64(s.Timeouts), m.pool)
	o.ObserveInt64(m.dialing, int64(s.Dialing), m.pool)
	open := int64(0)
	if s.CircuitOpen {
		open = 1
	}
	o.ObserveInt64(m.circuit, open, m.pool)
	for i, c := range poolCounters {
		o.ObserveInt64(m.own[i], int64(c.read(&s)), m.pool)
	}
	return nil
}

// waited counts a granted acquire's wait; the ledger calls it.
func (m *metrics) waited(d time.Duration) { m.waits.Record(d) }

// held counts how long a lease was held; the ledger calls it when a
// holder ends a lease.
func (m *metrics) held(d time.Duration) { m.uses.Record(d) }

// created records a successful dial's duration.
func (m *metrics) created(ctx context.Context, d time.Duration) {
	m.create.Record(ctx, d.Seconds(), m.rec...)
}
