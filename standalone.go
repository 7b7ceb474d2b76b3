package actorpool

import (
	"github.com/actorpool/actorpool/backends"
	"github.com/actorpool/actorpool/internal/quiet"
)

// Open starts a pool on an actor system of its own, for a service that
// uses the pool from goroutines only (Acquire, With, Do) and has no actor
// system to give New. The system logs nothing; Close closes the pool and
// then shuts the system down. Everything else is as New: invalid
// configuration, a nil backend included, is an error wrapping
// ErrInvalidConfig, and nothing is left running.
func Open[C any](backend backends.Backend[C], cfg Config) (*Pool[C], error) {
	sys := quiet.System()
	p, err := New(sys, backend, cfg)
	if err != nil {
		sys.Shutdown()
		return nil, err
	}
	p.ownSys = sys
	return p, nil
}
