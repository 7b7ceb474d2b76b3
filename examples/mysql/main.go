// Command mysql pools MySQL or MariaDB sessions with actorpool.
//
//	go run ./examples/mysql
//	MYSQL_DSN='app:secret@tcp(127.0.0.1:3306)/app' go run ./examples/mysql
//
// Without MYSQL_DSN it starts a MariaDB server of its own (mariadbd, which
// make test or scripts/test-deps.sh installs) on a free loopback port, and
// stops it at the end.
//
// It creates a table, runs a transaction on a leased connection, shows that
// a duplicate key is an ordinary error that keeps the connection, prints the
// pool's stats, and exits.
package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/go-sql-driver/mysql"

	"github.com/actorpool/actorpool"
	"github.com/actorpool/actorpool/backends/mysqlbackend"
	"github.com/actorpool/actorpool/internal/testserver/mariadbserver"
)

func main() {
	if err := start(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// start runs the example against MYSQL_DSN, or against a server of its own
// when it is not set, as the tests do.
func start() error {
	dsn, stop, err := mariadbserver.FromEnv("MYSQL_DSN")
	if err != nil {
		return err
	}
	defer stop()
	return run(dsn)
}

func run(dsn string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger }))
	backend := mysqlbackend.New(mysqlbackend.Options{
		DSN:            dsn,
		InitStatements: []string{"SET time_zone = '+00:00'"},
		Logger:         logger,
	})
	pool, err := actorpool.New(sys, backend, actorpool.Config{MinConns: 2, MaxConns: 4, Logger: logger})
	if err != nil {
		return err
	}
	defer func() {
		if err := pool.Close(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "close:", err)
		}
	}()
	fmt.Println("pooling", backend) // the DSN, password redacted

	// With: acquire, run, release. A fatal error would mark the
	// connection broken; an error reply leaves it in the pool.
	err = pool.With(ctx, func(c *mysqlbackend.Conn) error {
		_, err := c.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS example_accounts (
			id INT PRIMARY KEY, balance INT NOT NULL) ENGINE=InnoDB`)
		if err != nil {
			return err
		}
		_, err = c.ExecContext(ctx, "DELETE FROM example_accounts")
		return err
	})
	if err != nil {
		return err
	}

	// A transaction on a leased connection.
	lease, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	if err := transfer(ctx, lease.Conn()); err != nil {
		_ = lease.Release()
		return err
	}
	if err := lease.Release(); err != nil {
		return err
	}

	// A duplicate key: an error reply, not a lost connection.
	err = pool.With(ctx, func(c *mysqlbackend.Conn) error {
		_, err := c.ExecContext(ctx, "INSERT INTO example_accounts VALUES (1, 0)")
		return err
	})
	var me *mysql.MySQLError
	if errors.As(err, &me) && me.Number == 1062 {
		fmt.Printf("duplicate key: %v (fatal for the connection: %v)\n", err, backend.IsFatal(err))
	} else if err != nil {
		return err
	}

	err = pool.With(ctx, func(c *mysqlbackend.Conn) error {
		rows, err := c.QueryContext(ctx, "SELECT id, balance FROM example_accounts ORDER BY id")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, balance int
			if err := rows.Scan(&id, &balance); err != nil {
				return err
			}
			fmt.Printf("account %d: balance %d\n", id, balance)
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}

	st := pool.Stats()
	fmt.Printf("stats: total %d, idle %d, leased %d, acquired %d, dials %d, broken %d\n",
		st.Total(), st.Idle(), st.Leased(), st.Acquired(), st.Dials(), st.Broken())
	return nil
}

// transfer opens two accounts and moves 30 from one to the other, in one
// transaction.
func transfer(ctx context.Context, c *mysqlbackend.Conn) (err error) {
	tx, err := c.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead})
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	for _, q := range []string{
		"INSERT INTO example_accounts VALUES (1, 100), (2, 0)",
		"UPDATE example_accounts SET balance = balance - 30 WHERE id = 1",
		"UPDATE example_accounts SET balance = balance + 30 WHERE id = 2",
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	fmt.Println("transaction committed: moved 30 from account 1 to account 2")
	return nil
}
