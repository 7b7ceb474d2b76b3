package mysqlbackend

import "github.com/actorpool/actorpool/backends"

var _ backends.Namer = (*Backend)(nil)

// Name names the server and database, for metrics and traces, without user,
// password or parameters: "mysql://127.0.0.1:3306/app" over TCP,
// "mysql+unix:///run/mysqld.sock/app" over a Unix socket. A Backend whose
// configuration is invalid is named "mysql".
func (b *Backend) Name() string {
	if b.cfg == nil {
		return "mysql"
	}
	scheme := "mysql://"
	if b.cfg.Net == "unix" {
		scheme = "mysql+unix://"
	}
	return scheme + b.cfg.Addr + "/" + b.cfg.DBName
}
