package redisbackend

import (
	"context"
	"sync"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/redis/go-redis/v9"
)

// work is what a Commands call hands the pool: the caller's commands, which
// stay together and in order in one batch. Pipeline writes out and reads
// the replies into it: cmds itself, or copies of them when the caller may
// give up before its replies come (detach.go).
type work struct {
	cmds   []redis.Cmder
	out    []redis.Cmder
	copies []redis.Cmder // the copies out points at, kept across uses
	one    [1]redis.Cmder
	unsent bool // Send could not encode it: its commands hold the error

	sender *actor.PID // who sent it by message (messages.go), and its tag
	tag    any
}

var works = sync.Pool{New: func() any { return new(work) }}

func oneWork(cmd redis.Cmder) *work {
	w := works.Get().(*work)
	w.one[0] = cmd
	w.cmds, w.out = w.one[:], w.one[:]
	return w
}

func manyWork(cmds []redis.Cmder) *work {
	w := works.Get().(*work)
	w.cmds, w.out = cmds, cmds
	return w
}

func putWork(w *work) {
	w.one[0], w.cmds, w.out, w.unsent = nil, nil, nil, false
	works.Put(w)
}

// Pipeline writes the commands of every work value (its out) as one
// go-redis pipeline on conn and reads each reply into its command. A reply
// that is an error (redis.Nil, WRONGTYPE) stays on its command; Pipeline
// returns an error only when the connection is lost (go-redis closed it,
// or the error is fatal), after go-redis has set that error on every
// command. It implements backends.Pipeliner for command mode (Commands).
func (b *Backend) Pipeline(ctx context.Context, conn *Conn, batch []any) error {
	var err error
	if w := batch[0].(*work); len(batch) == 1 && len(w.out) == 1 {
		err = conn.Process(ctx, w.out[0]) // one command: no pipeline to build
	} else {
		cmds := conn.batch[:0]
		for _, w := range batch {
			cmds = append(cmds, w.(*work).out...)
		}
		pipe := conn.Pipeline()
		_ = pipe.BatchProcess(ctx, cmds...)
		_, err = pipe.Exec(ctx)
		clear(cmds)
		conn.batch = cmds[:0]
	}
	return b.lost(conn, err)
}

// lost returns the error that makes conn unusable after a batch that
// returned err: go-redis closed it, or err is fatal; nil when err is only
// a command's own.
func (b *Backend) lost(conn *Conn, err error) error {
	if lost := conn.alive(); lost != nil {
		return lost
	}
	if b.IsFatal(err) {
		return err
	}
	return nil
}

// size is roughly the bytes cmds write: their string and byte arguments.
func size(cmds []redis.Cmder) int {
	n := 0
	for _, cmd := range cmds {
		for _, a := range cmd.Args() {
			switch v := a.(type) {
			case string:
				n += len(v)
			case []byte:
				n += len(v)
			default:
				n += 8
			}
		}
	}
	return n
}
