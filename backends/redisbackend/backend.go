package redisbackend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/actorpool/actorpool/backends"
)

// Backend dials Redis connections for a pool. Its methods are safe for
// concurrent use by the pool's connection actors, each on its own Conn.
type Backend struct {
	opt Options
	err error // a URL that did not parse; reported by Validate and Dial
}

var (
	_ backends.Backend[*Conn]      = (*Backend)(nil)
	_ backends.Validator           = (*Backend)(nil)
	_ backends.ResetTracker[*Conn] = (*Backend)(nil)
)

// New returns a Backend that dials with opt. Invalid options are reported by
// Validate, which actorpool.New calls, and by every Dial.
func New(opt Options) *Backend {
	opt.Hooks = slices.Clone(opt.Hooks)
	return &Backend{opt: opt}
}

// NewFromURL returns a Backend configured by a redis://, rediss:// or unix://
// URL (see ParseURL). A URL that does not parse is reported by Validate, which
// actorpool.New calls, and by every Dial; the error never holds the password.
func NewFromURL(rawURL string) *Backend {
	opt, err := ParseURL(rawURL)
	return &Backend{opt: opt, err: err}
}

// Options returns the options the Backend dials with.
func (b *Backend) Options() Options { return b.opt }

// String describes the Backend with the password replaced by "xxxxx".
func (b *Backend) String() string {
	if b.err != nil {
		return "redisbackend(" + b.err.Error() + ")"
	}
	return "redisbackend(" + b.opt.String() + ")"
}

// Validate reports a URL that did not parse, an empty address, and other
// options that cannot work.
func (b *Backend) Validate() error {
	if b.err != nil {
		return b.err
	}
	return b.opt.Validate()
}

// Dial opens one TCP (or TLS) connection, runs the go-redis handshake on it
// (HELLO with the credentials, CLIENT SETNAME, SELECT) and returns it wrapped
// in a Conn whose go-redis client can never open another. Dial and handshake
// together are bounded by ctx and by Options.DialTimeout. The hooks of
// Options.Hooks are added to the client before it dials: their dial hook runs
// for the dial.
//
// A refused password is an error wrapping ErrAuth; no error holds the
// password.
func (b *Backend) Dial(ctx context.Context) (*Conn, error) {
	if err := b.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, b.opt.dialTimeout())
	defer cancel()

	nc, err := b.opt.dialNet(ctx)
	if err != nil {
		return nil, b.dialError(err)
	}
	c := &Conn{sock: &socket{Conn: nc}, db: b.opt.DB, name: b.opt.ClientName, hooks: b.opt.Hooks}
	c.Client = redis.NewClient(b.opt.redisOptions(c.dial))
	for _, h := range b.opt.Hooks { // before the first command, which dials
		c.Client.AddHook(h)
	}

	// go-redis runs the handshake when it first uses the connection. Bound
	// it by ctx's deadline rather than by ReadTimeout.
	hs := c.Client
	if dl, ok := ctx.Deadline(); ok {
		hs = c.Client.WithTimeout(max(time.Until(dl), time.Millisecond))
	}
	if err := hs.Ping(ctx).Err(); err != nil {
		_ = c.close()
		return nil, b.dialError(err)
	}
	c.Client.AddHook(leaseRunner{c})
	c.Client.AddHook(tracker{c})
	return c, nil
}

// Ping sends PING on conn.
func (b *Backend) Ping(ctx context.Context, conn *Conn) error {
	err := conn.Ping(ctx).Err()
	if err == nil || errors.Is(err, ErrConnLost) {
		return err
	}
	return fmt.Errorf("redisbackend: ping: %w", err)
}

// NeedsReset reports whether the lease that is ending left anything for
// Reset to undo or refuse: session state the holder changed, a lost
// connection, a redis.Conn pinned with Conn, a command still running. When it
// returns false, the common case, the pool lends conn again without calling
// Reset: a clean lease costs six atomic loads and no round trip.
func (b *Backend) NeedsReset(conn *Conn) bool {
	return conn.needsReset()
}

// Reset undoes what the last holder left on conn: the hooks it added with
// Conn.AddHook are removed, an open MULTI is discarded, WATCHed keys are
// released, the configured database is selected again, the configured client
// name restored. It only sends what the holder's commands could have
// changed, in one pipelined round trip, and nothing at all when the holder
// changed none of it.
//
// It returns an error, so the pool closes and replaces conn, when the
// connection is lost, when it is still checked out of its go-redis client
// (ErrConnInUse), or when the holder ran a command whose effect Reset does not
// undo (ErrNotResettable): pub/sub, MONITOR, AUTH, HELLO, RESET, CLIENT REPLY,
// CLIENT TRACKING and the like.
func (b *Backend) Reset(ctx context.Context, conn *Conn) error {
	return conn.reset(ctx)
}

// Close closes conn's go-redis client and with it the TCP connection.
func (b *Backend) Close(conn *Conn) error {
	return conn.close()
}

// IsFatal reports whether err means conn is unusable: ErrConnLost, a closed
// client, a network error (including timeouts and refused dials), io.EOF, a
// go-redis pool timeout (the one connection was never given back). Error
// replies from the server (WRONGTYPE, NOSCRIPT, ...), redis.Nil, context
// errors and errors of the holder's own are not fatal.
//
// A connection that go-redis itself gave up on during a command is caught by
// Reset even when IsFatal said no, so IsFatal leans towards false.
func (b *Backend) IsFatal(err error) bool {
	if err == nil {
		return false
	}
	if _, ok := errors.AsType[redis.Error](err); ok {
		return false // a reply from the server, redis.Nil included
	}
	switch {
	case errors.Is(err, ErrConnLost),
		errors.Is(err, redis.ErrClosed),
		errors.Is(err, redis.ErrPoolTimeout),
		errors.Is(err, redis.ErrPoolExhausted),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.EPIPE):
		return true
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false
	}
	_, isNet := errors.AsType[net.Error](err)
	return isNet
}

// dialError wraps err with the address, marks refused credentials with
// ErrAuth, and makes sure the text holds no password.
func (b *Backend) dialError(err error) error {
	if re, ok := errors.AsType[redis.Error](err); ok && isAuthError(re.Error()) {
		err = authError{err}
	}
	err = fmt.Errorf("redisbackend: dial %s: %w", b.opt.Addr, err)
	if pw := b.opt.Password; pw != "" && strings.Contains(err.Error(), pw) {
		return &scrubbedError{msg: strings.ReplaceAll(err.Error(), pw, redacted), err: err}
	}
	return err
}

func isAuthError(msg string) bool {
	return strings.HasPrefix(msg, "WRONGPASS") ||
		strings.HasPrefix(msg, "NOAUTH") ||
		strings.HasPrefix(msg, "NOPERM") ||
		strings.Contains(msg, "invalid password") ||
		strings.Contains(msg, "without any password configured")
}

// authError is a refusal of the credentials: errors.Is(err, ErrAuth) holds,
// and the server's reply stays reachable with errors.As.
type authError struct{ err error }

func (e authError) Error() string        { return "authentication failed: " + e.err.Error() }
func (e authError) Unwrap() error        { return e.err }
func (e authError) Is(target error) bool { return target == ErrAuth }

// scrubbedError is an error whose text had the password replaced.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }
