package backoff_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/actorpool/actorpool/internal/backoff"
)

func TestDelayDoublesUpToTheCapWithJitter(t *testing.T) {
	p := backoff.Policy{Min: 10 * time.Millisecond, Max: 300 * time.Millisecond}
	want := []time.Duration{10, 20, 40, 80, 160, 300, 300, 300}
	for i, w := range want {
		n := i + 1
		assert.Equal(t, w*time.Millisecond, p.Ceiling(n), "ceiling after %d failures", n)
		for range 200 {
			d := p.Delay(n)
			assert.GreaterOrEqual(t, d, p.Ceiling(n)/2)
			assert.LessOrEqual(t, d, p.Ceiling(n))
		}
	}
	assert.Equal(t, 300*time.Millisecond, p.Ceiling(1000), "capped, no overflow after many failures")
	assert.Zero(t, p.Delay(0), "the first attempt is immediate")
}

func TestDelayIsJittered(t *testing.T) {
	p := backoff.Policy{Min: time.Second, Max: time.Minute}
	seen := map[time.Duration]bool{}
	for range 50 {
		seen[p.Delay(3)] = true
	}
	assert.Greater(t, len(seen), 10, "delays drawn from a range, not one value")
}
