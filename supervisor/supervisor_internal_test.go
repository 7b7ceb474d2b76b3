package supervisor

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/actorpool/actorpool/messages"
)

// A timer can fire, its child be parked, released and fail again, and a new
// timer be armed, before the old timer's RestartChild is processed. That
// message must not restart the child early, nor drop the new timer, which
// Stopping would then wait for until it fires.
func TestARestartFromATimerThatWasReplacedIsIgnored(t *testing.T) {
	s := &Supervisor[int]{children: map[string]*child{}}
	c := &child{pid: actor.NewPID("nonhost", "c")}
	s.children[c.pid.Id] = c

	s.schedule(nil, c, time.Hour)
	stale := c.timerSeq
	s.stopTimer(c)
	s.schedule(nil, c, time.Hour)

	// The context is not used when the message is ignored.
	s.handleRestartChild(nil, &messages.RestartChild{Child: c.pid, Seq: stale})
	assert.Equal(t, backingOff, c.state)
	require.NotNil(t, c.timer, "the armed timer was dropped")

	require.True(t, s.stopTimer(c))
	s.timers.Wait() // every timer accounted for
}
