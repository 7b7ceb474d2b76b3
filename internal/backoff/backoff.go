// Package backoff computes restart delays: capped exponential growth with
// jitter, so that connections failing together do not retry together.
package backoff

import (
	"math/rand/v2"
	"time"
)

// Policy doubles the delay from Min with every consecutive failure up to
// Max, then draws the actual delay uniformly from [d/2, d] ("equal jitter").
type Policy struct {
	Min, Max time.Duration
}

// Delay returns the wait before attempt n+1 after n consecutive failures
// (n >= 1). Delay(0) is 0: the first attempt is immediate.
func (p Policy) Delay(n int) time.Duration {
	if n <= 0 || p.Max <= 0 {
		return 0
	}
	d := p.Ceiling(n)
	half := d / 2
	return half + rand.N(d-half+1)
}

// Ceiling is the upper bound of Delay(n): Min·2^(n-1), capped at Max.
func (p Policy) Ceiling(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	d := p.Min
	for i := 1; i < n && d < p.Max; i++ {
		d *= 2
	}
	return min(d, p.Max)
}
