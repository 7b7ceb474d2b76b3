package membackend

import (
	"context"

	"github.com/actorpool/actorpool/backends"
)

// Duplexed is the in-memory backend with a split command mode
// (backends.Duplexer), as Redis has: a connection takes the next batch
// while the replies to the last are on their way. Its Commands run when
// their replies are read (Receive), after DelayPipelines' delay.
type Duplexed struct{ *Backend }

var _ backends.Duplexer[*Conn] = Duplexed{}

// Duplexed returns b with a split command mode.
func (b *Backend) Duplexed() Duplexed { return Duplexed{b} }

// Split implements backends.Duplexer. The connection is held for command
// mode (a lease meanwhile counts a violation) until Join.
func (d Duplexed) Split(c *Conn) (backends.Duplex, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if err := c.Hold(batchHolder); err != nil {
		return nil, err
	}
	return &halves{b: d.Backend, c: c}, nil
}

// Sent is the number of Commands the halves of a Duplexed backend sent.
func (b *Backend) Sent() int { return int(b.sent.Load()) }

type halves struct {
	b *Backend
	c *Conn
}

// Send counts work as sent; it fails when the connection is broken or
// closed.
func (h *halves) Send(work []any) error {
	if err := h.c.check(); err != nil {
		return err
	}
	h.b.sent.Add(int64(len(work)))
	return nil
}

// Receive runs work's Commands, as Pipeline does.
func (h *halves) Receive(ctx context.Context, work []any) error {
	if err := h.c.check(); err != nil {
		return err
	}
	return h.b.roundTrip(ctx, h.c, work)
}

// Join lets the connection go; it fails when it is broken or closed.
func (h *halves) Join() error {
	h.c.Unhold(batchHolder)
	return h.c.check()
}
