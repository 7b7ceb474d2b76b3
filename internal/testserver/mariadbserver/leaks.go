package mariadbserver

import "go.uber.org/goleak"

// Waiters is the goleak option for the goroutines this harness leaves
// waiting on a server process it restarted (they end with the process,
// after the test's pool is closed): not the code under test's.
func Waiters() goleak.Option {
	return goleak.IgnoreAnyFunction("github.com/actorpool/actorpool/internal/testserver/mariadbserver.(*Server).start.func1")
}
