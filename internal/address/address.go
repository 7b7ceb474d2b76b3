// Package address gives a backend's requests by message an address in an
// actor system that is not an actor: a message sent to it is handled on
// the sender's goroutine, so taking a request never waits for a mailbox.
package address

import "github.com/asynkron/protoactor-go/actor"

// Register adds to sys a process named prefix plus a fresh id whose
// messages go to handle with their sender (ctx.Request's; a message sent
// without one is dropped: there is nobody to answer). handle runs on the
// sender's goroutine and must not block.
func Register(sys *actor.ActorSystem, prefix string, handle func(sender *actor.PID, msg any)) *actor.PID {
	reg := sys.ProcessRegistry
	pid, _ := reg.Add(process(handle), prefix+reg.NextId())
	return pid
}

// process is the registered process: user messages go to the handler,
// system messages (watch, stop) have nothing to act on.
type process func(sender *actor.PID, msg any)

func (p process) SendUserMessage(_ *actor.PID, message any) {
	if _, msg, sender := actor.UnwrapEnvelope(message); sender != nil {
		p(sender, msg)
	}
}

func (process) SendSystemMessage(*actor.PID, any) {}
func (process) Stop(*actor.PID)                   {}
