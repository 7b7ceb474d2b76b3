package actorpool_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/membackend"
)

func newTracingFixture(t *testing.T, cfg actorpool.Config, prepare ...func(*membackend.Backend)) (*fixture, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { assert.NoError(t, tp.Shutdown(context.Background())) })
	cfg.TracerProvider = tp
	return newFixture(t, cfg, prepare...), rec
}

// lastSpan returns the last span ended, and its attributes by key.
func lastSpan(t *testing.T, rec *tracetest.SpanRecorder) (sdktrace.ReadOnlySpan, map[attribute.Key]attribute.Value) {
	t.Helper()
	ended := rec.Ended()
	require.NotEmpty(t, ended)
	s := ended[len(ended)-1]
	attrs := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		attrs[kv.Key] = kv.Value
	}
	return s, attrs
}

func TestAGrantedAcquireRecordsASpanWithItsWaitAndConnection(t *testing.T) {
	f, rec := newTracingFixture(t, lifecycleOff(actorpool.Config{MaxConns: 1}))
	l := f.acquire(t)
	s, attrs := lastSpan(t, rec)
	assert.Equal(t, actorpool.AcquireSpanName, s.Name())
	assert.Equal(t, "granted", attrs[actorpool.AttrAcquireOutcome].AsString())
	assert.Equal(t, "mem", attrs["db.client.connection.pool.name"].AsString())
	assert.EqualValues(t, l.ID(), attrs[actorpool.AttrConnectionID].AsInt64())
	wait := attrs[actorpool.AttrAcquireWait].AsFloat64()
	assert.Positive(t, wait)
	assert.Equal(t, codes.Unset, s.Status().Code)
	require.NoError(t, l.Release())
}

func TestAFailedAcquireRecordsItsOutcomeAsAnError(t *testing.T) {
	f, rec := newTracingFixture(t, lifecycleOff(actorpool.Config{MaxConns: 1, AcquireTimeout: 10 * time.Millisecond, MaxWaiters: 1}))
	l := f.acquire(t)

	_, err := f.p.Acquire(context.Background())
	require.ErrorIs(t, err, actorpool.ErrAcquireTimeout)
	s, attrs := lastSpan(t, rec)
	assert.Equal(t, "timeout", attrs[actorpool.AttrAcquireOutcome].AsString())
	assert.Equal(t, "timeout", attrs["error.type"].AsString())
	assert.Equal(t, codes.Error, s.Status().Code)
	assert.GreaterOrEqual(t, attrs[actorpool.AttrAcquireWait].AsFloat64(), 0.010)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = f.p.Acquire(ctx)
	require.ErrorIs(t, err, context.Canceled)
	_, attrs = lastSpan(t, rec)
	assert.Equal(t, "canceled", attrs[actorpool.AttrAcquireOutcome].AsString())

	// One caller waits (long enough to be seen waiting on a loaded
	// machine); the next is refused.
	lc := f.p.Lifecycle()
	lc.AcquireTimeout = time.Hour
	require.NoError(t, f.p.SetLifecycle(context.Background(), lc))
	waiting := f.acquireLater(context.Background())
	require.Eventually(t, func() bool { return f.p.Stats().Waiting() == 1 }, eventually, time.Millisecond)
	_, err = f.p.Acquire(context.Background())
	require.ErrorIs(t, err, actorpool.ErrTooManyWaiters)
	_, attrs = lastSpan(t, rec)
	assert.Equal(t, "rejected", attrs[actorpool.AttrAcquireOutcome].AsString())
	require.NoError(t, l.Release())
	require.NoError(t, recv(t, waiting), "the waiter is served once the lease comes back")

	require.NoError(t, f.p.Close(context.Background()))
	_, err = f.p.Acquire(context.Background())
	require.ErrorIs(t, err, actorpool.ErrPoolClosed)
	_, attrs = lastSpan(t, rec)
	assert.Equal(t, "closed", attrs[actorpool.AttrAcquireOutcome].AsString())
}

func TestAnAcquireFailedFastRecordsItsOutcome(t *testing.T) {
	f, rec := newTracingFixture(t, lifecycleOff(actorpool.Config{MaxConns: 1, BackoffMin: time.Millisecond}),
		func(b *membackend.Backend) { b.FailDials(nil) })
	require.Eventually(t, func() bool {
		_, err := f.p.Acquire(context.Background())
		return errors.Is(err, actorpool.ErrBackendUnavailable)
	}, eventually, time.Millisecond)
	_, attrs := lastSpan(t, rec)
	assert.Equal(t, "failed_fast", attrs[actorpool.AttrAcquireOutcome].AsString())
}
