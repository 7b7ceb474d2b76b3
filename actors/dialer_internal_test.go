package actors

import (
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool/internal/ledger"
	"github.com/actorpool/actorpool/internal/proto"
)

// A redial timer can fire after the dialer replaced it with another (the
// circuit parked its actor, callers brought the probe forward). Its
// RedialDue must not redial the actor early, nor drop the armed timer.
func TestARedialFromATimerThatWasReplacedIsIgnored(t *testing.T) {
	b := &broker[int]{cfg: &BrokerConfig[int]{Logger: slog.New(slog.DiscardHandler)},
		l: ledger.New(ledger.Config[int]{}, 0, 1)}
	b.dialer.init(proto.NewSettings(proto.Lifecycle{BackoffMin: time.Hour, BackoffMax: time.Hour}))
	c := b.dialer.child(actor.NewPID("nonhost", "c"))

	b.schedule(c, time.Hour)
	stale := c.seq
	b.dialer.stopTimer(c)
	b.schedule(c, time.Hour)

	// The context is not used when the message is ignored.
	b.handleRedialDue(nil, &proto.RedialDue{Child: c.pid, Seq: stale})
	assert.Equal(t, backingOff, c.state)
	require.NotNil(t, c.timer, "the armed timer was dropped")
	b.dialer.stopTimers()
}

func TestTheProbeIsParkedChildrenFirstThenNobodyWhileOneDials(t *testing.T) {
	b := &broker[int]{cfg: &BrokerConfig[int]{Logger: slog.New(slog.DiscardHandler)},
		l: ledger.New(ledger.Config[int]{}, 0, 1)}
	b.dialer.init(proto.NewSettings(proto.Lifecycle{BackoffMin: time.Hour, BackoffMax: time.Hour}))
	d := &b.dialer
	d.open = true
	a := d.child(actor.NewPID("nonhost", "a"))
	d.park(a)

	b.ensureProbe(nil)
	assert.Same(t, a, d.probe, "the first parked child probes")
	assert.Equal(t, backingOff, a.state)
	assert.Empty(t, d.parked)

	b.ensureProbe(nil) // a probe exists: nothing changes
	assert.Same(t, a, d.probe)
	b.dialer.stopTimers()
}
