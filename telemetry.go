package actorpool

// This file is what a pool reports to OpenTelemetry when the Config asks
// for it: the metrics (metrics.go) and a span per Acquire. With neither a
// MeterProvider nor a TracerProvider the pool has no telemetry, and
// Acquire and Release cost one nil check more than without this file.

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/actorpool/actorpool/backends"
)

// The span Acquire records, and its attributes besides the pool's name.
const (
	// AcquireSpanName is the name of the span each Acquire records when
	// Config.TracerProvider is set.
	AcquireSpanName = "actorpool.acquire"
	// AttrAcquireOutcome is the span's attribute telling how the acquire
	// ended: "granted", "timeout" (ErrAcquireTimeout), "failed_fast"
	// (ErrBackendUnavailable), "closed" (ErrPoolClosed), "rejected"
	// (ErrTooManyWaiters), "shed" (ErrOverloaded) or "canceled" (the
	// caller's ctx ended).
	AttrAcquireOutcome = attribute.Key("actorpool.acquire.outcome")
	// AttrAcquireWait is the span's attribute holding the wait, in
	// seconds.
	AttrAcquireWait = attribute.Key("actorpool.acquire.wait")
	// AttrConnectionID is the span's attribute naming the connection
	// granted (Lease.ID).
	AttrConnectionID = attribute.Key("actorpool.connection.id")
)

// defaultName is the pool's name when Config.Name is empty.
const defaultName = "actorpool"

// telemetry is a pool's metrics (nil without a MeterProvider) and tracer
// (nil without a TracerProvider). Read-only after New.
type telemetry struct {
	metrics  *metrics
	tracer   trace.Tracer
	poolAttr attribute.KeyValue
}

// newTelemetry returns nil when cfg asks for no telemetry. The metrics
// observe nothing until their observe is called.
func newTelemetry(cfg Config) (*telemetry, error) {
	if cfg.MeterProvider == nil && cfg.TracerProvider == nil {
		return nil, nil
	}
	t := &telemetry{poolAttr: semconv.DBClientConnectionPoolName(cfg.Name)}
	if cfg.MeterProvider != nil {
		m, err := newMetrics(cfg.MeterProvider, cfg.Name)
		if err != nil {
			return nil, err
		}
		t.metrics = m
	}
	if cfg.TracerProvider != nil {
		t.tracer = cfg.TracerProvider.Tracer(instrumentationName, trace.WithSchemaURL(semconv.SchemaURL))
	}
	return t, nil
}

// poolName is the name a pool over backend gets when Config.Name is empty.
func poolName[C any](backend backends.Backend[C]) string {
	if n, ok := backend.(backends.Namer); ok {
		if name := n.Name(); name != "" {
			return name
		}
	}
	return defaultName
}

// acquireTraced is Acquire with a span that records the wait and the
// outcome. The wait histogram is the ledger's to record (metrics.waited).
func (p *Pool[C]) acquireTraced(ctx context.Context) (Lease[C], error) {
	t := p.tel
	start := time.Now()
	_, span := t.tracer.Start(ctx, AcquireSpanName, trace.WithTimestamp(start),
		trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(t.poolAttr))
	l, err := p.acquire(ctx)
	end := time.Now()
	wait := end.Sub(start)
	outcome := acquireOutcome(err)
	span.SetAttributes(AttrAcquireOutcome.String(outcome), AttrAcquireWait.Float64(wait.Seconds()))
	if err == nil {
		span.SetAttributes(AttrConnectionID.Int64(int64(l.ID())))
	} else {
		span.SetAttributes(semconv.ErrorTypeKey.String(outcome))
		span.SetStatus(codes.Error, err.Error())
	}
	span.End(trace.WithTimestamp(end))
	return l, err
}

// acquireOutcome names how an acquire ended (AttrAcquireOutcome).
func acquireOutcome(err error) string {
	switch {
	case err == nil:
		return "granted"
	case errors.Is(err, ErrOverloaded): // before timeout, which it also matches
		return "shed"
	case errors.Is(err, ErrAcquireTimeout):
		return "timeout"
	case errors.Is(err, ErrBackendUnavailable):
		return "failed_fast" // checked before ctx errors: a dial error may wrap one
	case errors.Is(err, ErrPoolClosed):
		return "closed"
	case errors.Is(err, ErrTooManyWaiters):
		return "rejected"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "canceled"
	}
	return "error"
}

// timedBackend times its backend's successful dials for
// db.client.connection.create_time. The pool's connection actors dial
// through it when metrics are on; everything else goes to the backend
// itself.
type timedBackend[C any] struct {
	backends.Backend[C]
	metrics *metrics
}

func (b timedBackend[C]) Dial(ctx context.Context) (C, error) {
	start := time.Now()
	c, err := b.Backend.Dial(ctx)
	if err == nil {
		b.metrics.created(ctx, time.Since(start))
	}
	return c, err
}
