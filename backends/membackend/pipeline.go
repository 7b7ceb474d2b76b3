package membackend

import (
	"context"
	"time"

	"github.com/actorpool/actorpool/backends"
)

var _ backends.Pipeliner[*Conn] = (*Backend)(nil)

// batchHolder is the holder a batch records on its connection while it
// runs: a lease holding the connection meanwhile is a violation.
const batchHolder = -1

// Command is command-mode work for the in-memory backend (actorpool's
// Pool.Do): Pipeline runs Fn, if any, on the connection, and records where
// and in how large a batch it ran.
type Command struct {
	Fn    func(c *Conn) error // runs on the connection; its error is the command's own
	Err   error               // what Fn returned
	Conn  *Conn               // the connection the command ran on
	Batch int                 // the commands written in the same batch
}

// DelayPipelines makes every later batch take d (or until its ctx ends),
// as a slow round trip would.
func (b *Backend) DelayPipelines(d time.Duration) {
	b.mu.Lock()
	b.batchDelay = d
	b.mu.Unlock()
}

// Pipeline implements backends.Pipeliner. It holds c for the batch (a
// second batch or a lease on c meanwhile counts a violation), runs each
// Command in order, and fails with ErrBroken or ErrClosed when c is broken
// or closed, before the batch or by its end (a Command's Fn may Break c).
func (b *Backend) Pipeline(ctx context.Context, c *Conn, work []any) error {
	if err := c.check(); err != nil {
		return err
	}
	if err := c.Hold(batchHolder); err != nil {
		return err
	}
	defer c.Unhold(batchHolder)
	return b.roundTrip(ctx, c, work)
}

// roundTrip waits DelayPipelines' delay (a batch cut short by ctx still
// runs its commands), runs each Command in order, and returns c's error
// at its end.
func (b *Backend) roundTrip(ctx context.Context, c *Conn, work []any) error {
	b.mu.Lock()
	d := b.batchDelay
	b.mu.Unlock()
	_ = sleep(ctx, d)
	for _, w := range work {
		cmd := w.(*Command)
		cmd.Conn, cmd.Batch = c, len(work)
		if cmd.Fn != nil {
			cmd.Err = cmd.Fn(c)
		}
	}
	return c.check()
}
