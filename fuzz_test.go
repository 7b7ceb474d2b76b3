package actorpool_test

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// FuzzPoolUnderStress runs one round of the stress test (stressRound: a
// fresh pool over the memory backend; callers acquiring, releasing,
// marking broken, cancelling and timing out; dials failing and
// recovering; connections breaking; owner actors stopping while holding;
// SetLimits moving; then Close under traffic) with every choice of the
// round (the configuration, each caller's steps, the faults, the limits)
// read from the input, and checks the same invariants during and after
// it. The choices are the input's; the interleaving of the goroutines and
// actors is the scheduler's, so a failure found by go test -fuzz may need
// a few runs to show again. The seeds run with every plain go test.
func FuzzPoolUnderStress(f *testing.F) {
	f.Add([]byte("actorpool"))
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	f.Add([]byte{0xff, 0x10, 0x80, 0x01, 0x7f, 0x33, 0x00, 0x42})
	f.Fuzz(func(t *testing.T, choices []byte) {
		if len(choices) == 0 {
			choices = []byte{0}
		}
		stressRound(t, rand.New(&bytesSource{b: choices}))
	})
}

// bytesSource is a rand.Source that reads its numbers from b, eight bytes
// at a time, over and over; each is mixed with its own number, so that no
// two in a row are equal (rand's bounded draws retry until a number falls
// in range, and would spin forever on a source stuck on one out of it).
type bytesSource struct {
	b  []byte
	at int
	n  uint64 // numbers drawn so far
}

func (s *bytesSource) Uint64() uint64 {
	var w [8]byte
	for i := range w {
		if s.at == len(s.b) {
			s.at = 0
		}
		w[i] = s.b[s.at]
		s.at++
	}
	// splitmix64 of the word and its number: every bit depends on both.
	s.n++
	z := binary.LittleEndian.Uint64(w[:]) + s.n*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
