// Command mysqlreplicas runs a group of two MariaDB servers, one of them
// read_only, with the roles read from the servers (@@global.read_only).
//
//	go run ./examples/mysqlreplicas
//
// It needs mariadbd and mariadb-install-db (make test installs them). It
// starts two servers in temporary directories on loopback, makes the
// second read_only, and runs inserts (to the writable one) and selects
// (to the read_only one) through the group, as the servers count them
// (Com_insert, Com_select). Then read_only moves from the second server to
// the first, as a failover tool would do it, and the inserts follow. It
// prints what happened and exits.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool/backends"
	"github.com/actorpool/actorpool/backends/mysqlbackend"
	"github.com/actorpool/actorpool/group"
	"github.com/actorpool/actorpool/internal/testserver/mariadbserver"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "mysqlreplicas:", err)
		os.Exit(1)
	}
}

func run(out io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	names := []string{"db-a", "db-b"}
	servers := make([]*mariadbserver.Server, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range servers { // both at once: each takes seconds
		wg.Go(func() { servers[i], errs[i] = mariadbserver.Start(ctx) })
	}
	wg.Wait()
	for i, s := range servers {
		if s != nil {
			defer s.Stop()
		}
		if errs[i] != nil {
			return fmt.Errorf("start %s: %w", names[i], errs[i])
		}
		if _, err := s.Admin().ExecContext(ctx, "CREATE TABLE app.t (id INT PRIMARY KEY AUTO_INCREMENT)"); err != nil {
			return err
		}
	}
	a, b := servers[0], servers[1]
	if err := setReadOnly(ctx, b, true); err != nil {
		return err
	}

	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	var eps []group.Endpoint[*mysqlbackend.Conn]
	for i, s := range servers {
		// The server's application user has no SUPER or READ_ONLY ADMIN
		// privilege, so read_only holds for it.
		eps = append(eps, group.Endpoint[*mysqlbackend.Conn]{Name: names[i], Backend: mysqlbackend.New(mysqlbackend.Options{DSN: s.DSN()})})
	}
	g, err := group.New(sys, group.Config{RoleCheckInterval: 100 * time.Millisecond}, eps...)
	if err != nil {
		return err
	}
	defer g.Close(context.Background())

	insert := func(c *mysqlbackend.Conn) error {
		_, err := c.ExecContext(ctx, "INSERT INTO t () VALUES ()")
		return err
	}
	count := func(c *mysqlbackend.Conn) error {
		var n int
		return c.QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&n)
	}
	batch := func() error {
		for range 50 {
			if err := g.With(ctx, insert); err != nil {
				return err
			}
			if err := g.WithRead(ctx, count); err != nil {
				return err
			}
		}
		return nil
	}
	report := func(title string) {
		fmt.Fprintln(out, title)
		for i, s := range servers {
			e, _ := g.Stats().Endpoint(names[i])
			fmt.Fprintf(out, "  %s (%s): rows %d, Com_insert %d\n", names[i], e.Role(), rows(ctx, s), status(ctx, s, "Com_insert"))
		}
	}

	if err := batch(); err != nil {
		return err
	}
	report("50 inserts and 50 selects through the group, db-b read_only:")

	// read_only moves from b to a: a failover tool's switch.
	if err := setReadOnly(ctx, a, true); err != nil {
		return err
	}
	if err := setReadOnly(ctx, b, false); err != nil {
		return err
	}
	start := time.Now()
	for {
		st := g.Stats()
		ea, _ := st.Endpoint("db-a")
		eb, _ := st.Endpoint("db-b")
		if ea.Role() == backends.RoleReplica && eb.Role() == backends.RolePrimary {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(5 * time.Millisecond) // polling the roles the group reads
	}
	fmt.Fprintf(out, "read_only moved to db-a; the group saw the new roles within %s\n", time.Since(start).Round(50*time.Millisecond))
	if err := batch(); err != nil {
		return err
	}
	report("50 more inserts and selects:")
	return nil
}

func setReadOnly(ctx context.Context, s *mariadbserver.Server, on bool) error {
	v := "0"
	if on {
		v = "1"
	}
	_, err := s.Admin().ExecContext(ctx, "SET GLOBAL read_only = "+v)
	return err
}

func rows(ctx context.Context, s *mariadbserver.Server) int {
	var n int
	_ = s.Admin().QueryRowContext(ctx, "SELECT COUNT(*) FROM app.t").Scan(&n)
	return n
}

func status(ctx context.Context, s *mariadbserver.Server, name string) int {
	var k string
	var v int
	_ = s.Admin().QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE '"+name+"'").Scan(&k, &v)
	return v
}
