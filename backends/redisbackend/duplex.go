package redisbackend

import (
	"context"
	"encoding"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/actorpool/actorpool/backends"
)

var _ backends.Duplexer[*Conn] = (*Backend)(nil)

// Split implements backends.Duplexer: in command mode a connection is
// written and read on two goroutines. Send encodes every command of a
// batch into one buffer and writes it to the socket in one write; Receive
// reads the replies with go-redis, into the callers' commands, through the
// connection's own client, whose writes go nowhere meanwhile (the commands
// are already on the wire). Join makes the connection whole again.
//
// The hooks of Options.Hooks run around the reading of each batch's
// replies: they see every command and its reply, but cannot change what is
// written (it is on the wire already), and one that returns without
// passing the batch on leaves its replies unread: the connection is then
// closed and replaced.
func (b *Backend) Split(c *Conn) (backends.Duplex, error) {
	if c == nil || c.sock == nil {
		return nil, ErrConnLost
	}
	if err := c.alive(); err != nil {
		return nil, err
	}
	c.sock.split.Store(true)
	opt := c.Client.Options()
	h := &halves{b: b, c: c, rc: c.Client.Conn(), writeTimeout: opt.WriteTimeout, addr: opt.Addr}
	h.rc.AddHook(reached{h}) // after the client's hooks: innermost, on this redis.Conn only
	return h, nil
}

// reached is the innermost hook of the reader's redis.Conn: it records
// that a batch got through every hook of Options.Hooks to go-redis.
type reached struct{ h *halves }

func (r reached) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r reached) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.h.passed = true
		return next(ctx, cmd)
	}
}

func (r reached) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		r.h.passed = true
		return next(ctx, cmds)
	}
}

// halves is a connection split for command mode: Send is the writer's,
// Receive the reader's.
type halves struct {
	b            *Backend
	c            *Conn
	writeTimeout time.Duration // go-redis's: > 0 bounds each write; -1 none; -2 leave the deadline alone
	addr         string        // the server's, as go-redis names it

	buf    []byte // Send's
	rc     *redis.Conn
	cmds   []redis.Cmder // Receive's
	passed bool          // set by the reached hook during Receive
}

// maxKeptBuf bounds the write buffer kept between batches.
const maxKeptBuf = 64 << 10

// Send writes the commands of every work value in one write. A work value
// with an argument that cannot be encoded is not written: its commands get
// the encoding error, as go-redis would give them, and Receive skips it.
func (h *halves) Send(batch []any) error {
	buf := h.buf[:0]
	for _, v := range batch {
		w := v.(*work)
		start := len(buf)
		var err error
		for _, cmd := range w.out {
			if buf, err = appendCommand(buf, cmd.Args()); err != nil {
				break
			}
		}
		if err != nil {
			buf = buf[:start]
			setErr(w.out, err)
			w.unsent = true
		}
	}
	var err error
	if len(buf) > 0 {
		raw := h.c.sock.Conn
		switch {
		case h.writeTimeout > 0:
			err = raw.SetWriteDeadline(time.Now().Add(h.writeTimeout))
		case h.writeTimeout == -1:
			err = raw.SetWriteDeadline(time.Time{})
		}
		if err == nil {
			_, err = raw.Write(buf)
		}
	}
	if cap(buf) > maxKeptBuf {
		buf = nil
	}
	h.buf = buf[:0]
	return err
}

// Receive reads the replies to a batch Send wrote into its commands. A
// reply that is an error stays on its command; Receive returns an error
// only when the connection is lost, as Pipeline does.
func (h *halves) Receive(ctx context.Context, batch []any) error {
	cmds := h.cmds[:0]
	for _, v := range batch {
		if w := v.(*work); !w.unsent {
			cmds = append(cmds, w.out...)
		}
	}
	if len(cmds) == 0 {
		return nil
	}
	h.passed = false
	var err error
	if len(cmds) == 1 {
		err = h.rc.Process(ctx, cmds[0])
	} else {
		pipe := h.rc.Pipeline()
		_ = pipe.BatchProcess(ctx, cmds...)
		_, err = pipe.Exec(ctx)
	}
	cause := h.unread(cmds)
	clear(cmds)
	h.cmds = cmds[:0]
	if cause != nil {
		_ = h.c.sock.Close() // the replies on the wire are out of step with the commands
		return fmt.Errorf("%w: %w", ErrConnLost, cause)
	}
	return h.b.lost(h.c, err)
}

// errHookSkipped is why a batch's replies were not read: a hook of
// Options.Hooks returned without passing the batch on.
var errHookSkipped = errors.New("a hook of Options.Hooks did not pass command mode's batch on: its replies were not read")

// unread returns why the replies to cmds may not all have been read, which
// leaves the connection out of step: a hook kept the batch from go-redis
// (the reached hook did not run), or a command's error is not a reply of the server
// (a network error or timeout, a reply go-redis could not parse, an
// argument go-redis could not encode), or is one after which go-redis gives
// the connection up (READONLY, a MOVED to this very server).
func (h *halves) unread(cmds []redis.Cmder) error {
	if !h.passed {
		return errHookSkipped
	}
	for _, cmd := range cmds {
		err := cmd.Err()
		if err == nil {
			continue
		}
		var reply redis.Error
		if !errors.As(err, &reply) || redis.IsReadOnlyError(err) {
			return err
		}
		if addr, moved := redis.IsMovedError(err); moved && addr == h.addr {
			return err
		}
	}
	return nil
}

// Join ends the split: the client writes the socket again and gives its
// connection back to its pool.
func (h *halves) Join() error {
	h.c.sock.split.Store(false)
	_ = h.rc.Close() // returns the connection to the client's pool of one
	return h.c.alive()
}

// appendCommand appends args as a RESP array of bulk strings, encoded as
// go-redis encodes them.
func appendCommand(b []byte, args []any) ([]byte, error) {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, '\r', '\n')
	for _, a := range args {
		var err error
		if b, err = appendArg(b, a); err != nil {
			return b, err
		}
	}
	return b, nil
}

func appendBulk[T string | []byte](b []byte, s T) []byte {
	b = append(b, '$')
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, '\r', '\n')
	b = append(b, s...)
	return append(b, '\r', '\n')
}

// appendNumber appends a number's text as a bulk string, formatted by
// format into the array's spare room.
func appendNumber(b []byte, format func([]byte) []byte) []byte {
	var tmp [32]byte
	return appendBulk(b, format(tmp[:0]))
}

func appendInt(b []byte, n int64) []byte {
	return appendNumber(b, func(t []byte) []byte { return strconv.AppendInt(t, n, 10) })
}

func appendUint(b []byte, n uint64) []byte {
	return appendNumber(b, func(t []byte) []byte { return strconv.AppendUint(t, n, 10) })
}

// appendArg appends one argument as go-redis's writer does: numbers as
// their decimal text, bools as 1 or 0, times as RFC 3339 with
// nanoseconds, durations as nanoseconds, an encoding.BinaryMarshaler as
// its binary form, a pointer to any of the basic kinds as what it points
// to (nil: the zero value); anything else is an error.
func appendArg(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		return appendBulk(b, v), nil
	case []byte:
		return appendBulk(b, v), nil
	case nil:
		return appendBulk(b, ""), nil
	case int:
		return appendInt(b, int64(v)), nil
	case int64:
		return appendInt(b, v), nil
	case int32:
		return appendInt(b, int64(v)), nil
	case int16:
		return appendInt(b, int64(v)), nil
	case int8:
		return appendInt(b, int64(v)), nil
	case uint:
		return appendUint(b, uint64(v)), nil
	case uint64:
		return appendUint(b, v), nil
	case uint32:
		return appendUint(b, uint64(v)), nil
	case uint16:
		return appendUint(b, uint64(v)), nil
	case uint8:
		return appendUint(b, uint64(v)), nil
	case uintptr:
		return appendUint(b, uint64(v)), nil
	case float64:
		return appendNumber(b, func(t []byte) []byte { return strconv.AppendFloat(t, v, 'f', -1, 64) }), nil
	case float32:
		return appendNumber(b, func(t []byte) []byte { return strconv.AppendFloat(t, float64(v), 'f', -1, 64) }), nil
	case bool:
		if v {
			return appendBulk(b, "1"), nil
		}
		return appendBulk(b, "0"), nil
	case time.Time:
		return appendNumber(b, func(t []byte) []byte { return v.AppendFormat(t, time.RFC3339Nano) }), nil
	case *time.Time:
		if v == nil {
			return appendArg(b, time.Time{})
		}
		return appendArg(b, *v)
	case time.Duration:
		return appendInt(b, v.Nanoseconds()), nil
	case encoding.BinaryMarshaler:
		data, err := v.MarshalBinary()
		if err != nil {
			return b, err
		}
		return appendBulk(b, data), nil
	case net.IP:
		return appendBulk(b, []byte(v)), nil
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && basicKind(rv.Type().Elem().Kind()) {
		if rv.IsNil() {
			return appendArg(b, reflect.Zero(rv.Type().Elem()).Interface())
		}
		return appendArg(b, rv.Elem().Interface())
	}
	return b, fmt.Errorf("redis: can't marshal %T (implement encoding.BinaryMarshaler)", v)
}

// basicKind reports whether go-redis writes a pointer to a value of kind k
// as the value.
func basicKind(k reflect.Kind) bool {
	switch k {
	case reflect.String, reflect.Bool, reflect.Float32, reflect.Float64,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return true
	}
	return false
}
