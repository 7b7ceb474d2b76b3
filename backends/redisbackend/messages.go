package redisbackend

// Commands by message: an actor sends *Request to Commands.PID and gets
// *Reply in its mailbox, from the same connection actors and batches as
// the client's own commands, without a goroutine per request and without
// blocking its mailbox.

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/redis/go-redis/v9"

	"github.com/actorpool/actorpool/internal/address"
)

// Request asks the pool, by message, to run Redis commands for the sending
// actor. Send it with ctx.Request(commands.PID(), req), so that the pool
// knows whom to answer; the answer is one *Reply carrying Tag.
//
// Cmds are go-redis commands, built without running them: with a
// pipeline's builder (pipe := commands.Pipeline(); pipe.Incr(ctx, "hits");
// then pipe.Cmds()) or go-redis's constructors (redis.NewStringCmd(ctx,
// "get", "k")). They run as one go-redis pipeline would: together and in
// order, in one batch on one connection. The pool reads the replies into
// them: the actor must not touch them until the Reply comes.
type Request struct {
	Tag  any
	Cmds []redis.Cmder
	// Tx runs Cmds as a MULTI/EXEC transaction, on a connection leased
	// for the call.
	Tx bool
	// Timeout bounds the wait before the commands are written; zero means
	// the pool's AcquireTimeout. A request still unwritten by then is
	// answered with an error matching actorpool.ErrAcquireTimeout.
	Timeout time.Duration
}

// Reply answers a Request: its Tag, its Cmds with their replies, and Err,
// the first error among them (a command's own error reply such as
// redis.Nil included, as go-redis's Pipelined returns it), or why they did
// not run: ErrNeedsLease for a session command, actorpool.ErrPoolClosed,
// actorpool.ErrBackendUnavailable, an error matching
// actorpool.ErrAcquireTimeout, the network error of a connection that
// broke while they were in flight.
type Reply struct {
	Tag  any
	Cmds []redis.Cmder
	Err  error
}

// IgnoreDeadLetterLogging keeps a Reply to a sender that stopped meanwhile
// out of the actor system's dead-letter log (actor.IgnoreDeadLetterLogging).
func (*Reply) IgnoreDeadLetterLogging() {}

// PID is the address actors send *Request to. It is not an actor: a
// Request is handed to a connection's queue on the sender's goroutine,
// without blocking it, and the connection actor that writes it answers
// the sender. Blocking commands and transactions run on a connection
// leased for the call, on a goroutine of their own, as with the client.
//
// The sender is answered once. A request whose sender stopped before it
// was written is dropped unwritten (Stats.CommandsDropped counts it); the
// reply to a sender that stopped while its commands were in flight goes
// to the dead letters, which do not log it. The hooks added with
// AddHook do not run for requests sent by message; the pool's metrics
// count them as the client's commands. A Commands made from a nil pool
// has no PID (nil).
func (c *Commands) PID() *actor.PID {
	c.pidOnce.Do(func() {
		if c.pool == nil {
			return
		}
		c.sys = c.pool.ActorSystem()
		c.pid = address.Register(c.sys, "actorpool-redis-commands-", c.received)
		c.replied = c.reply // one method value for every request
	})
	return c.pid
}

// received takes a message sent to PID.
func (c *Commands) received(sender *actor.PID, msg any) {
	if req, ok := msg.(*Request); ok {
		c.send(sender, req)
	}
}

// send places a request: a session command is refused at once, a
// blocking command or a transaction runs on a lease, anything else goes to
// command mode.
func (c *Commands) send(sender *actor.PID, req *Request) {
	if len(req.Cmds) == 0 {
		c.deliver(sender, &Reply{Tag: req.Tag})
		return
	}
	switch where, err := placeAll(req.Cmds, req.Tx); where {
	case refused:
		c.deliver(sender, &Reply{Tag: req.Tag, Cmds: req.Cmds, Err: err})
	case onLease:
		go c.sendOnLease(sender, req)
	default:
		var deadline time.Time
		if req.Timeout > 0 {
			deadline = time.Now().Add(req.Timeout)
		}
		w := manyWork(req.Cmds)
		w.sender, w.tag = sender, req.Tag
		c.pool.Submit(w, size(req.Cmds), sender, deadline, c.replied)
	}
}

// sendOnLease runs a request that needs a connection of its own.
func (c *Commands) sendOnLease(sender *actor.PID, req *Request) {
	ctx := context.Background()
	if req.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, req.Timeout)
		defer cancel()
	}
	err := c.onLease(ctx, req.Cmds, req.Tx)
	if err == nil {
		err = firstErr(req.Cmds)
	}
	c.deliver(sender, &Reply{Tag: req.Tag, Cmds: req.Cmds, Err: err})
}

// reply answers the sender of command-mode work (the pool's done).
func (c *Commands) reply(wk any, err error) {
	w := wk.(*work)
	if err != nil {
		setErr(w.cmds, err)
	} else {
		err = firstErr(w.cmds)
	}
	rep := &Reply{Tag: w.tag, Cmds: w.cmds, Err: err}
	to := w.sender
	w.sender, w.tag = nil, nil
	putWork(w)
	c.deliver(to, rep)
}

// deliver sends rep to the sender.
func (c *Commands) deliver(to *actor.PID, rep *Reply) { c.sys.Root.Send(to, rep) }
