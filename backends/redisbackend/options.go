package redisbackend

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// redacted replaces a password wherever this package prints one.
const redacted = "xxxxx"

// Options configures the connections a Backend dials. The fields mean what
// the go-redis Options fields of the same name mean; go-redis's pool settings
// (PoolSize, MinIdleConns, MaxRetries, ConnMaxLifetime, ...) have no
// counterpart, because actorpool.Config owns them and every connection is a
// go-redis client of exactly one TCP connection.
//
// Fill it by hand or from a redis:// URL with ParseURL. Print it freely: its
// String, GoString and LogValue methods replace the password with "xxxxx".
type Options struct {
	// Network is "tcp" or "unix".
	// default: "tcp"
	Network string

	// Addr is host:port, or the socket path when Network is "unix". Required.
	Addr string

	// Username is the ACL user to authenticate as (Redis 6+). Empty means
	// the default user.
	// default: ""
	Username string

	// Password is sent with HELLO (or AUTH) on every new connection. It
	// never appears in an error or in String.
	// default: "" (no authentication)
	Password string

	// DB is selected on every new connection, and again by Reset when a
	// holder selected another one.
	// default: 0
	DB int

	// ClientName is set with CLIENT SETNAME on every new connection, and
	// again by Reset when a holder changed it. It may not contain spaces.
	// default: "" (no name)
	ClientName string

	// Protocol is the RESP version negotiated with HELLO: 2 or 3.
	// default: 3
	Protocol int

	// TLSConfig, when set, makes the connection TLS (rediss:// URLs set it).
	// default: nil (plain TCP)
	TLSConfig *tls.Config

	// DialTimeout bounds the TCP (and TLS) dial plus the handshake, inside
	// the context the pool gives Dial.
	// default: 5s
	DialTimeout time.Duration

	// ReadTimeout and WriteTimeout bound each socket read and write of a
	// command. -1 means no timeout, -2 means no deadline calls at all.
	// default: 5s, and WriteTimeout follows ReadTimeout
	ReadTimeout  time.Duration
	WriteTimeout time.Duration

	// ContextTimeoutEnabled makes commands honour the deadline of the
	// context they are given (as in go-redis).
	// default: false
	ContextTimeoutEnabled bool

	// Dialer, when set, opens the TCP (or TLS) connection instead of the
	// built-in dialer. It is called exactly once per Dial. As in go-redis,
	// TLSConfig is then not applied: the Dialer does TLS itself.
	// default: nil (net.Dialer, with tls.Dialer when TLSConfig is set)
	Dialer func(ctx context.Context, network, addr string) (net.Conn, error)

	// DisableIdentity skips CLIENT SETINFO (library name and version) on
	// connect.
	// default: false
	DisableIdentity bool

	// ReadOnly sends READONLY on each new connection: a Redis Cluster
	// replica then serves reads of its primary's slots instead of
	// redirecting them (a primary ignores it). For cluster nodes only: a
	// server without cluster mode refuses READONLY, and the dial fails.
	// Package rediscluster sets it for replica reads.
	// default: false
	ReadOnly bool

	// Hooks are added, in order (the first outermost), to the go-redis
	// client of every connection the Backend dials, once, before it dials:
	// their dial hook runs when the connection dials, their process and
	// pipeline hooks for every command sent on it after, the pool's own
	// included (keepalive and validation PINGs, Reset's commands). In
	// command mode they see each batch as written: one command, or a
	// pipeline of several callers' commands. They are shared by all
	// connections, so must be safe for concurrent use. Hooks for the
	// command client go in with Commands.AddHook, hooks for one lease with
	// Conn.AddHook.
	// default: nil (no hooks)
	Hooks []redis.Hook
}

// onConnect is what a new connection runs after its handshake.
func (o Options) onConnect() func(context.Context, *redis.Conn) error {
	if !o.ReadOnly {
		return nil
	}
	return func(ctx context.Context, cn *redis.Conn) error { return cn.ReadOnly(ctx).Err() }
}

// poolOwnedParams are go-redis URL parameters that configure go-redis's own
// pool and retries. Here they would be silently wrong (each connection is a
// go-redis client with a pool of exactly one connection and no retries), so
// ParseURL rejects them and points at actorpool.Config.
var poolOwnedParams = []string{
	"max_retries", "min_retry_backoff", "max_retry_backoff",
	"pool_fifo", "pool_size", "pool_timeout",
	"min_idle_conns", "max_idle_conns", "max_active_conns", "max_concurrent_dials",
	"pipeline_pool_size", "pipeline_read_buffer_size", "pipeline_write_buffer_size",
	"conn_max_idle_time", "idle_timeout",
	"conn_max_lifetime", "max_conn_age", "conn_max_lifetime_jitter",
}

// ParseURL reads Options from a redis://, rediss:// or unix:// URL with
// go-redis's own parser (redis.ParseURL), so every form go-redis accepts is
// accepted here: user and password, database in the path or as ?db=,
// client_name, protocol, dial_timeout, read_timeout, write_timeout,
// skip_verify. Parameters for go-redis's pool (pool_size, max_retries, ...)
// are rejected: actorpool.Config sets those.
//
// Errors wrap ErrInvalidURL and show the URL with its password replaced.
func ParseURL(rawURL string) (Options, error) {
	ro, err := redis.ParseURL(rawURL)
	if err != nil {
		return Options{}, urlError(rawURL, err)
	}
	if u, err := url.Parse(rawURL); err == nil {
		for param := range u.Query() {
			if slices.Contains(poolOwnedParams, param) {
				return Options{}, fmt.Errorf("%w %q: parameter %s configures go-redis's pool; set actorpool.Config instead",
					ErrInvalidURL, redactURL(rawURL), param)
			}
		}
	}
	return Options{
		Network:      ro.Network,
		Addr:         ro.Addr,
		Username:     ro.Username,
		Password:     ro.Password,
		DB:           ro.DB,
		ClientName:   ro.ClientName,
		Protocol:     ro.Protocol,
		TLSConfig:    ro.TLSConfig,
		DialTimeout:  ro.DialTimeout,
		ReadTimeout:  ro.ReadTimeout,
		WriteTimeout: ro.WriteTimeout,
	}, nil
}

// Validate reports options that cannot work, wrapping ErrInvalidOptions.
func (o Options) Validate() error {
	var problems []string
	switch o.Network {
	case "", "tcp", "unix":
	default:
		problems = append(problems, fmt.Sprintf("network %q is neither tcp nor unix", o.Network))
	}
	if o.Addr == "" {
		problems = append(problems, "empty address")
	}
	if o.DB < 0 {
		problems = append(problems, fmt.Sprintf("negative DB %d", o.DB))
	}
	if strings.ContainsFunc(o.ClientName, func(r rune) bool { return r <= ' ' || r > '~' }) {
		problems = append(problems, fmt.Sprintf("client name %q contains spaces or special characters", o.ClientName))
	}
	switch o.Protocol {
	case 0, 2, 3:
	default:
		problems = append(problems, fmt.Sprintf("protocol %d is neither 2 nor 3", o.Protocol))
	}
	if o.DialTimeout < 0 {
		problems = append(problems, fmt.Sprintf("negative dial timeout %v", o.DialTimeout))
	}
	if o.ReadTimeout < -2 {
		problems = append(problems, fmt.Sprintf("read timeout %v is below -2", o.ReadTimeout))
	}
	if o.WriteTimeout < -2 {
		problems = append(problems, fmt.Sprintf("write timeout %v is below -2", o.WriteTimeout))
	}
	for i, h := range o.Hooks {
		if h == nil {
			problems = append(problems, fmt.Sprintf("hook %d is nil", i))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalidOptions, strings.Join(problems, "; "))
	}
	return nil
}

// String describes the options as a URL with the password replaced by
// "xxxxx", for example "redis://:xxxxx@127.0.0.1:6379/2?client_name=api".
func (o Options) String() string {
	u := url.URL{Scheme: "redis", Host: o.Addr, Path: "/" + strconv.Itoa(o.DB)}
	if o.TLSConfig != nil {
		u.Scheme = "rediss"
	}
	if o.Network == "unix" {
		u = url.URL{Scheme: "unix", Path: o.Addr, RawQuery: "db=" + strconv.Itoa(o.DB)}
	}
	switch {
	case o.Password != "":
		u.User = url.UserPassword(o.Username, redacted)
	case o.Username != "":
		u.User = url.User(o.Username)
	}
	q := u.Query()
	if o.ClientName != "" {
		q.Set("client_name", o.ClientName)
	}
	if o.Protocol != 0 {
		q.Set("protocol", strconv.Itoa(o.Protocol))
	}
	u.RawQuery = q.Encode()
	// url.URL.String escapes the user info; keep the placeholder readable.
	return strings.Replace(u.String(), url.QueryEscape(redacted), redacted, 1)
}

// GoString makes %#v print the redacted String too.
func (o Options) GoString() string { return "redisbackend.Options(" + o.String() + ")" }

// LogValue makes slog print the redacted String.
func (o Options) LogValue() slog.Value { return slog.StringValue(o.String()) }

// redisOptions are the go-redis options of the client wrapped by one Conn:
// a pool of exactly one connection, handed out once by dialer, no retries,
// no go-redis pools beside the main one, nothing that expires connections
// behind the pool's back.
func (o Options) redisOptions(dialer func(context.Context, string, string) (net.Conn, error)) *redis.Options {
	return &redis.Options{
		Network:               o.network(),
		Addr:                  o.Addr,
		Dialer:                dialer,
		Username:              o.Username,
		Password:              o.Password,
		DB:                    o.DB,
		ClientName:            o.ClientName,
		Protocol:              o.Protocol,
		TLSConfig:             o.TLSConfig,
		DialTimeout:           o.DialTimeout,
		ReadTimeout:           o.ReadTimeout,
		WriteTimeout:          o.WriteTimeout,
		ContextTimeoutEnabled: o.ContextTimeoutEnabled,
		DisableIdentity:       o.DisableIdentity,
		OnConnect:             o.onConnect(),

		PoolSize:           1,  // one connection...
		MaxConcurrentDials: 1,  //
		MinIdleConns:       0,  // ...never pre-dialed by go-redis,
		MaxRetries:         -1, // never retried on another connection,
		DialerRetries:      1,  // and a refused dial is not retried.
		DialerRetryBackoff: func(int) time.Duration { return 0 },
		PipelinePoolSize:   -1, // pipelines use the same connection
		ConnMaxIdleTime:    -1, // idleness and age are the pool's business
		ConnMaxLifetime:    0,
		// No CLIENT MAINT_NOTIFICATIONS handshake and no handoff workers:
		// moving a connection to another endpoint would be a second dial.
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	}
}

func (o Options) network() string {
	if o.Network == "" {
		return "tcp"
	}
	return o.Network
}

func (o Options) dialTimeout() time.Duration {
	if o.DialTimeout == 0 {
		return 5 * time.Second
	}
	return o.DialTimeout
}

// dialNet opens the one TCP (or TLS, or unix) connection of a Conn.
func (o Options) dialNet(ctx context.Context) (net.Conn, error) {
	if o.Dialer != nil {
		return o.Dialer(ctx, o.network(), o.Addr)
	}
	nd := &net.Dialer{KeepAliveConfig: net.KeepAliveConfig{
		// go-redis's defaults: probe after 30 s idle, give up after 3
		// unanswered probes 5 s apart.
		Enable: true, Idle: 30 * time.Second, Interval: 5 * time.Second, Count: 3,
	}}
	if o.TLSConfig == nil {
		return nd.DialContext(ctx, o.network(), o.Addr)
	}
	td := &tls.Dialer{NetDialer: nd, Config: o.TLSConfig}
	return td.DialContext(ctx, o.network(), o.Addr)
}

// urlError turns a parse error into one that wraps ErrInvalidURL and holds
// neither the password nor the raw URL. url.Parse's own *url.Error quotes
// the whole URL, password included, so it is never wrapped as is.
func urlError(rawURL string, err error) error {
	msg := err.Error()
	if ue, ok := errors.AsType[*url.Error](err); ok {
		msg = ue.Err.Error()
	}
	if pw := rawPassword(rawURL); pw != "" {
		msg = strings.ReplaceAll(msg, pw, redacted)
		if dec, err := url.PathUnescape(pw); err == nil && dec != "" {
			msg = strings.ReplaceAll(msg, dec, redacted)
		}
		// url.EscapeError quotes the bad escape, which may be a piece of
		// the password.
		if ee, ok := errors.AsType[url.EscapeError](err); ok && strings.Contains(pw, string(ee)) {
			msg = "invalid escape in the password"
		}
	}
	return fmt.Errorf("%w %q: %s", ErrInvalidURL, redactURL(rawURL), msg)
}

// userinfo finds the user-info part of a URL that may not parse: what lies
// between "://" and the last "@" (url.Parse also splits at the last "@").
func userinfo(rawURL string) (start, end int, ok bool) {
	i := strings.Index(rawURL, "://")
	if i < 0 {
		return 0, 0, false
	}
	start = i + len("://")
	at := strings.LastIndex(rawURL[start:], "@")
	if at < 0 {
		return 0, 0, false
	}
	return start, start + at, true
}

// rawPassword is the password as written in rawURL, or "".
func rawPassword(rawURL string) string {
	start, end, ok := userinfo(rawURL)
	if !ok {
		return ""
	}
	_, pw, _ := strings.Cut(rawURL[start:end], ":")
	return pw
}

// redactURL replaces the password in rawURL, parsable or not, with "xxxxx".
func redactURL(rawURL string) string {
	start, end, ok := userinfo(rawURL)
	if !ok {
		return rawURL
	}
	user, _, hasPw := strings.Cut(rawURL[start:end], ":")
	if !hasPw {
		return rawURL
	}
	return rawURL[:start] + user + ":" + redacted + rawURL[end:]
}
