package redisbackend

import (
	"errors"
	"fmt"

	"github.com/actorpool/actorpool/backends"
)

// Errors returned by this package, usable with errors.Is. None of them, nor
// any error that wraps them, contains a password.
var (
	// ErrInvalidOptions is returned by Validate (and so by actorpool.New) for
	// options that cannot work: an empty address, a negative timeout.
	ErrInvalidOptions = errors.New("redisbackend: invalid options")

	// ErrInvalidURL is returned for a URL that go-redis's parser rejects, or
	// that sets an option the pool owns (pool_size, max_retries, ...). The
	// URL in the message has its password replaced by "xxxxx".
	ErrInvalidURL = errors.New("redisbackend: invalid URL")

	// ErrAuth is returned by Dial when the server refuses the username or
	// password (WRONGPASS, NOAUTH).
	ErrAuth = errors.New("redisbackend: authentication failed")

	// ErrConnLost is returned by every command on a Conn whose TCP connection
	// is gone (closed by the server, broken by a network error, or closed by
	// Close). The connection is never dialed again behind the pool; IsFatal
	// reports true, and the pool replaces the connection.
	ErrConnLost = errors.New("redisbackend: connection lost (it is not re-dialed)")

	// ErrSecondConn is returned when go-redis asks for a second TCP connection
	// while the first is alive, as Client.Subscribe does: a leased Conn is
	// exactly one connection. Use a separate go-redis client for pub/sub.
	ErrSecondConn = errors.New("redisbackend: a leased connection cannot open a second TCP connection")

	// ErrNotResettable is returned by Reset when the holder ran a command
	// whose effect Reset does not undo (SUBSCRIBE, MONITOR, AUTH, HELLO,
	// CLIENT REPLY, ...). The pool closes and replaces the connection.
	// It wraps backends.ErrReplace: an expected replacement, logged at Debug.
	ErrNotResettable = fmt.Errorf("redisbackend: session state cannot be reset: %w", backends.ErrReplace)

	// ErrConnInUse is returned by Reset when the connection is still checked
	// out of its go-redis client after the lease ended: a redis.Conn from
	// Conn() that was not closed, or a command still running in a goroutine
	// the holder left behind. The pool closes and replaces the connection.
	ErrConnInUse = errors.New("redisbackend: connection still in use after the lease ended")
)
