package redisbackend

import (
	"net/url"
	"strconv"

	"github.com/actorpool/actorpool/backends"
)

var _ backends.Namer = (*Backend)(nil)

// Name names the server and database, for metrics and traces, without user,
// password or parameters: "redis://127.0.0.1:6379/0", "rediss://..." with
// TLS, "unix:///run/redis.sock?db=0" over a Unix socket. A Backend whose
// configuration is invalid is named "redis".
func (b *Backend) Name() string {
	if b.err != nil {
		return "redis"
	}
	return b.opt.name()
}

func (o Options) name() string {
	if o.Network == "unix" {
		return (&url.URL{Scheme: "unix", Path: o.Addr, RawQuery: "db=" + strconv.Itoa(o.DB)}).String()
	}
	scheme := "redis"
	if o.TLSConfig != nil {
		scheme = "rediss"
	}
	return (&url.URL{Scheme: scheme, Host: o.Addr, Path: "/" + strconv.Itoa(o.DB)}).String()
}
