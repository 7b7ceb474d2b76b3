package mysqlbackend

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/actorpool/actorpool/backends"
)

// Options configures a Backend.
type Options struct {
	// DSN is a go-sql-driver/mysql data source name, parsed by the
	// driver's own mysql.ParseDSN, such as
	// "app:secret@tcp(127.0.0.1:3306)/app?parseTime=true&tls=true".
	// Its parameters (TLS, timeouts, charset, system variables) apply to
	// every connection. It must name an address.
	// The networks tcp, tcp4, tcp6 and unix are dialed with a net.Dialer,
	// even when a dial function is registered for them with
	// mysql.RegisterDialContext (give it as Config.DialFunc instead); a
	// network of another name is dialed by its registered function, and
	// closing its sessions does not wait for the server (see
	// Backend.Close).
	// Ignored when Config is set.
	DSN string

	// Config is used instead of DSN when set. It is cloned by New, so
	// later changes to it have no effect. Its DialFunc, when set, dials
	// every session.
	Config *mysql.Config

	// InitStatements run, in order, on every new session right after it is
	// dialed, before its first lease: the session's baseline, such as
	// "SET time_zone = '+00:00'",
	// "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED" or
	// "SET sql_mode = 'STRICT_ALL_TABLES'". A failing statement fails the
	// dial.
	// default: none
	InitStatements []string

	// Logger receives the driver's own log lines (it logs some network
	// errors as they happen), at level Warn, with the password removed.
	// default: nil, the driver's logger is left as it is (the one given by
	// mysql.SetLogger, else standard error)
	Logger *slog.Logger
}

// Backend dials MySQL or MariaDB sessions for a pool: one server session per
// Dial, reset between leases, closed when the pool retires it.
//
// A Backend is safe for concurrent use by all connection actors of a pool.
type Backend struct {
	cfg       *mysql.Config    // private clone; nil when err is set
	connector driver.Connector // go-sql-driver/mysql's, shared by every Dial
	init      []string
	err       error  // configuration error, returned by Validate and Dial
	redacted  string // String(): the DSN without its password
}

var (
	_ backends.Backend[*Conn]      = (*Backend)(nil)
	_ backends.Validator           = (*Backend)(nil)
	_ backends.ResetTracker[*Conn] = (*Backend)(nil)
)

// New returns a Backend for opts. A configuration error (a malformed DSN, no
// address) is kept and returned by Validate, which actorpool.New calls, and
// by every Dial.
func New(opts Options) *Backend {
	b := &Backend{init: append([]string(nil), opts.InitStatements...)}
	cfg, err := configFrom(opts)
	if err != nil {
		b.err = err
		b.redacted = "mysqlbackend(invalid config)"
		return b
	}
	if opts.Logger != nil {
		cfg.Logger = driverLogger{log: opts.Logger, password: cfg.Passwd}
	}
	b.redacted = redactedDSN(cfg)
	if cfg.DialFunc != nil || standardNet(cfg.Net) {
		cfg.DialFunc = dialer(cfg.DialFunc)
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		b.err = fmt.Errorf("mysqlbackend: %s", redact(err.Error(), cfg.Passwd))
		return b
	}
	b.cfg, b.connector = cfg, connector
	return b
}

// configFrom parses or clones the driver configuration and checks that it
// names an address.
func configFrom(opts Options) (*mysql.Config, error) {
	if opts.Config != nil {
		cfg := opts.Config.Clone()
		if cfg.Addr == "" {
			return nil, errors.New("mysqlbackend: config has no address")
		}
		return cfg, nil
	}
	if opts.DSN == "" {
		return nil, errors.New("mysqlbackend: no DSN and no config")
	}
	cfg, err := mysql.ParseDSN(opts.DSN)
	if err != nil {
		// The driver's messages name a parameter, never the password; make
		// sure of it all the same.
		return nil, fmt.Errorf("mysqlbackend: bad DSN: %s", redact(err.Error(), dsnPassword(opts.DSN)))
	}
	if !dsnHasAddress(opts.DSN) {
		return nil, errors.New("mysqlbackend: DSN has no address, such as tcp(127.0.0.1:3306)")
	}
	return cfg, nil
}

// standardNet reports whether network is one the Backend's dial function
// dials with a net.Dialer; any other is left to the dial function
// registered for it with mysql.RegisterDialContext.
func standardNet(network string) bool {
	switch network {
	case "", "tcp", "tcp4", "tcp6", "unix":
		return true
	}
	return false
}

// dsnHasAddress reports whether dsn names an address in parentheses after
// the network: the driver would otherwise silently use 127.0.0.1:3306.
func dsnHasAddress(dsn string) bool {
	// [user[:password]@][net[(addr)]]/dbname[?params]; the password may
	// contain anything, so look after the last '@' before the last '/'.
	slash := strings.LastIndexByte(dsn, '/')
	if slash < 0 {
		return false
	}
	head := dsn[:slash]
	if at := strings.LastIndexByte(head, '@'); at >= 0 {
		head = head[at+1:]
	}
	open := strings.IndexByte(head, '(')
	return open >= 0 && strings.HasSuffix(head, ")") && len(head)-open > 2
}

// dsnPassword returns the password part of a DSN, for redaction.
func dsnPassword(dsn string) string {
	// As the driver's parser: the credentials end at the last '@' before
	// the last '/'.
	slash := strings.LastIndexByte(dsn, '/')
	if slash < 0 {
		return ""
	}
	at := strings.LastIndexByte(dsn[:slash], '@')
	if at < 0 {
		return ""
	}
	if colon := strings.IndexByte(dsn[:at], ':'); colon >= 0 {
		return dsn[colon+1 : at]
	}
	return ""
}

// redactedDSN formats cfg as a DSN with the password replaced, and without
// parameters (they may hold secrets of their own, such as a TLS key name).
func redactedDSN(cfg *mysql.Config) string {
	var b strings.Builder
	b.WriteString(cfg.User)
	if cfg.Passwd != "" {
		b.WriteString(":xxxxx")
	}
	if cfg.User != "" || cfg.Passwd != "" {
		b.WriteByte('@')
	}
	fmt.Fprintf(&b, "%s(%s)/%s", cfg.Net, cfg.Addr, cfg.DBName)
	return b.String()
}

// redact replaces every occurrence of password in s.
func redact(s, password string) string {
	if password == "" {
		return s
	}
	return strings.ReplaceAll(s, password, "xxxxx")
}

// String returns the DSN with the password replaced by "xxxxx", for logs.
// (The driver's Config.FormatDSN includes the password: never log it.)
func (b *Backend) String() string { return b.redacted }

// Validate reports a configuration error: a malformed DSN, no address.
func (b *Backend) Validate() error { return b.err }

// Dial opens one server session: it connects, runs the init statements and
// reads the session id. The session is the only one the returned Conn will
// ever use.
func (b *Backend) Dial(ctx context.Context) (*Conn, error) {
	if b.err != nil {
		return nil, b.err
	}
	var sock *socket // set by the dial function, nil for a custom network
	dc, err := b.connector.Connect(context.WithValue(ctx, socketKey{}, &sock))
	if err != nil {
		return nil, b.dialError(err)
	}
	sess, err := newSession(dc)
	if err != nil {
		if sock != nil {
			sock.letGo.Store(true)
		}
		_ = dc.Close()
		return nil, err
	}
	db := sql.OpenDB(&oneShotConnector{driver: b.connector.Driver(), sess: sess})
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	sc, err := db.Conn(ctx)
	if err != nil {
		_ = db.Close() // closes sess through the connector if not handed out
		_ = sess.Close()
		return nil, b.dialError(err)
	}
	c := &Conn{sql: sc, db: db, sess: sess, sock: sock}
	for i, q := range b.init {
		if _, err := sc.ExecContext(ctx, q); err != nil {
			_ = c.close()
			return nil, fmt.Errorf("mysqlbackend: dial %s: init statement %d: %w", b.redacted, i+1, err)
		}
	}
	if err := sc.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&c.id); err != nil {
		_ = c.close()
		return nil, b.dialError(err)
	}
	sess.clearEffect() // the init statements are the baseline
	if sock != nil {
		sock.owned.Store(true) // from here c.close closes the socket
	}
	return c, nil
}

// dialError wraps a dial failure with the redacted DSN, and with
// ErrAccessDenied when the server refused the credentials, or ErrTLS when
// TLS could not be set up.
func (b *Backend) dialError(err error) error {
	if strings.Contains(err.Error(), b.cfg.Passwd) && b.cfg.Passwd != "" {
		// Not seen from the driver; kept so that no password can leak.
		err = errors.New(redact(err.Error(), b.cfg.Passwd))
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) && me.Number == 1045 {
		return fmt.Errorf("mysqlbackend: dial %s: %w: %w", b.redacted, ErrAccessDenied, err)
	}
	if isTLSError(err) {
		return fmt.Errorf("mysqlbackend: dial %s: %w: %w", b.redacted, ErrTLS, err)
	}
	return fmt.Errorf("mysqlbackend: dial %s: %w", b.redacted, err)
}

// Ping checks that the session is alive with COM_PING.
func (b *Backend) Ping(ctx context.Context, conn *Conn) error {
	if !conn.sess.IsValid() {
		return ErrSessionClosed
	}
	return conn.sql.PingContext(ctx)
}

// NeedsReset reports whether the lease that is ending did anything Reset
// must look at: a statement that may leave a transaction or session state,
// a result set, statement or transaction still open, or a session the driver
// closed. When it returns false (a lease that only read and wrote rows, or
// ran transactions it ended), the pool lends the connection again without
// calling Reset: the clean path costs no round trip. It reads the record
// kept by the session wrapper under a mutex: about 20 ns.
func (b *Backend) NeedsReset(conn *Conn) bool {
	rec := conn.sess.record()
	if rec.openTxs != 0 || rec.openRows != 0 || rec.openStmts != 0 || rec.effect != effectNone {
		return true
	}
	return !conn.sess.IsValid()
}

// Reset makes the session ready for the next holder, or refuses it. See the
// package documentation for what it checks, what it undoes and what it
// costs.
func (b *Backend) Reset(ctx context.Context, conn *Conn) error {
	rec := conn.sess.record()
	switch {
	case rec.openTxs > 0:
		return fmt.Errorf("%w: transaction left open", ErrSessionDirty)
	case rec.openRows > 0:
		return fmt.Errorf("%w: result set left open", ErrSessionDirty)
	case rec.openStmts > 0:
		return fmt.Errorf("%w: prepared statement left open", ErrSessionDirty)
	case !conn.sess.IsValid():
		return ErrSessionClosed
	case rec.effect == effectSession:
		return fmt.Errorf("%w: %s", ErrSessionDirty, rec.reason)
	case rec.effect == effectTx:
		if _, err := conn.sql.ExecContext(ctx, "ROLLBACK"); err != nil {
			return fmt.Errorf("mysqlbackend: reset: %w", err)
		}
	}
	conn.sess.clearEffect()
	return nil
}

// Close ends the session (COM_QUIT) and releases everything the Conn holds.
// It returns once the server has ended the session and closed its side of
// the socket, at most after a second (see socket): a replacement dialed
// after it never meets the old session on the server. A session the server
// already dropped returns at once. It never waits for rows or a
// transaction a holder left open beyond that.
func (b *Backend) Close(conn *Conn) error { return conn.close() }

// IsFatal reports whether err means the session can no longer be used. See
// isFatal for the list.
func (b *Backend) IsFatal(err error) bool { return isFatal(err) }

// driverLogger passes the driver's log lines to a *slog.Logger.
type driverLogger struct {
	log      *slog.Logger
	password string
}

func (l driverLogger) Print(v ...any) {
	msg := strings.TrimSpace(fmt.Sprint(v...))
	l.log.Warn("mysql driver: "+redact(msg, l.password), "component", "mysqlbackend")
}
