package redisbackend

import (
	"reflect"
	"sync"

	"github.com/redis/go-redis/v9"
)

// A caller whose ctx ends gets its error from the pool at once, even while
// its commands are in flight; their replies are still read, later, on the
// connection's side. go-redis reads a reply into the command it was sent
// with, so a command the caller keeps must not be sent: when ctx can end,
// the pool sends copies of the caller's commands (detach), and the caller
// copies the replies back only once the pool has answered it (attach). A
// caller that gave up leaves the copies to the pool, which reads replies
// into them that nobody reads.
//
// A copy is a command of the same go-redis type, taken from a pool per
// type and filled by value, so that a command path allocates nothing for
// it once warm.

// redisPkg is go-redis's import path: only its command types are copied by
// value (a command of another package may hold what its copy would share).
var redisPkg = reflect.TypeFor[redis.StringCmd]().PkgPath()

// copies holds a *sync.Pool of spare commands per command type (a pointer
// type, as the commands go-redis returns are).
var copies sync.Map

// copyOf returns a copy of cmd that replies can be read into instead of
// cmd, or false when cmd cannot have one: it is not a go-redis command, or
// it reads its reply into memory of the caller's (NoRetry: GetToBuffer's
// buffer, a RawWriteToCmd's writer).
func copyOf(cmd redis.Cmder) (redis.Cmder, bool) {
	t := reflect.TypeOf(cmd)
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct ||
		t.Elem().PkgPath() != redisPkg || cmd.NoRetry() {
		return nil, false
	}
	c := spares(t).Get()
	reflect.ValueOf(c).Elem().Set(reflect.ValueOf(cmd).Elem())
	return c.(redis.Cmder), true
}

// spares is the pool of spare commands of type t.
func spares(t reflect.Type) *sync.Pool {
	if p, ok := copies.Load(t); ok {
		return p.(*sync.Pool)
	}
	p, _ := copies.LoadOrStore(t, &sync.Pool{New: func() any { return reflect.New(t.Elem()).Interface() }})
	return p.(*sync.Pool)
}

// release empties a copy and gives it back to its pool.
func release(c redis.Cmder) {
	reflect.ValueOf(c).Elem().SetZero()
	spares(reflect.TypeOf(c)).Put(c)
}

// detach points w's output at copies of its commands; false (and w
// unchanged) when one of them cannot have one.
func (w *work) detach() bool {
	out := w.copies[:0]
	for _, cmd := range w.cmds {
		c, ok := copyOf(cmd)
		if !ok {
			for _, c := range out {
				release(c)
			}
			clear(out)
			return false
		}
		out = append(out, c)
	}
	w.copies, w.out = out, out
	return true
}

// attach ends what detach began, once the pool has answered the caller:
// with replies, each copy's reply goes back into the caller's command;
// the copies go back to their pools.
func (w *work) attach(replies bool) {
	if len(w.copies) == 0 {
		return
	}
	for i, c := range w.copies {
		if replies {
			reflect.ValueOf(w.cmds[i]).Elem().Set(reflect.ValueOf(c).Elem())
		}
		release(c)
	}
	clear(w.copies)
	w.copies, w.out = w.copies[:0], w.cmds
}
