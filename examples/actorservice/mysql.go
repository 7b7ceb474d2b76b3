package main

// The MySQL side of the service: a ledger actor that records the counts
// and reads them back by message (request mode), on the server of
// MYSQL_DSN or on a MariaDB it starts itself.

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/mysqlbackend"
	"github.com/actorpool/actorpool/internal/testserver/mariadbserver"
)

// record asks the ledger actor to store counts and read them back.
// Sender: main, with RequestFuture. Reply: *recorded.
type record struct{ counts map[string]int64 }

// recorded answers *record: the rows read back, or the first error.
type recorded struct {
	rows [][]any
	err  error
}

// ledger stores page counts in MySQL by message. Its fields are touched
// only by its Receive.
type ledger struct {
	mysql *actor.PID // Requests.PID
	asker *actor.PID
}

func (l *ledger) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *record:
		l.asker = ctx.Sender()
		// One transaction by message: the table, then a row per page.
		tx := &mysqlbackend.Tx{Tag: "store", Statements: []mysqlbackend.Statement{
			{SQL: "CREATE TABLE IF NOT EXISTS page_hits (page VARCHAR(40) PRIMARY KEY, hits INT NOT NULL)"},
		}}
		for page, n := range m.counts {
			tx.Statements = append(tx.Statements, mysqlbackend.Statement{
				SQL: "REPLACE INTO page_hits (page, hits) VALUES (?, ?)", Args: []any{page, n}})
		}
		ctx.Request(l.mysql, tx)
	case *mysqlbackend.Result:
		switch {
		case m.Err != nil:
			ctx.Send(l.asker, &recorded{err: m.Err})
		case m.Tag == "store":
			ctx.Request(l.mysql, &mysqlbackend.Query{Tag: "read", SQL: "SELECT page, hits FROM page_hits ORDER BY hits DESC", MaxRows: 100})
		case m.Tag == "read":
			ctx.Send(l.asker, &recorded{rows: m.Rows})
		}
	}
}

// recordInMySQL runs the ledger actor on sys against MYSQL_DSN, or a
// MariaDB of its own, and prints what it read back.
func recordInMySQL(sys *actor.ActorSystem, counts map[string]int64) error {
	dsn, stop, err := mariadbserver.FromEnv("MYSQL_DSN")
	if err != nil {
		return err
	}
	defer stop()
	p, err := actorpool.New(sys, mysqlbackend.New(mysqlbackend.Options{DSN: dsn}),
		actorpool.Config{MaxConns: 2, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	defer p.Close(context.Background())
	reqs := mysqlbackend.NewRequests(p)
	pid := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return &ledger{mysql: reqs.PID()} }))
	defer func() { _ = sys.Root.StopFuture(pid).Wait() }()

	res, err := sys.Root.RequestFuture(pid, &record{counts: counts}, 30*time.Second).Result()
	if err != nil {
		return err
	}
	r := res.(*recorded)
	if r.err != nil {
		return r.err
	}
	fmt.Println("ledger actor stored the counts in MySQL by message and read them back:")
	for _, row := range r.rows {
		fmt.Printf("  %-6s %v\n", row[0], row[1])
	}
	fmt.Println("mysql stats:", p.Stats())
	return nil
}
