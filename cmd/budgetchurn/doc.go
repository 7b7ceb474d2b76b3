// Command budgetchurn is the budget's churn run: members of a protoactor
// cluster share one connection budget while members come and go and their
// load moves, and the server's count of connections is checked all along.
//
//	go run ./cmd/budgetchurn [-backend redis|mariadb] [-budget 12] [-duration 1m] [-seed 0]
//
// It starts redis-server (or, with -backend mariadb, MariaDB) with the
// test harnesses of internal/testserver, and three members in one process
// (internal/clustertest), each with a pool joined to the budget and a
// random load. Then, for -duration, every 1 to 4 s (random, from -seed;
// 0 picks one and prints it), one event happens: a member joins (up to
// six), leaves gracefully (the budget, then the cluster), crashes (goes
// silent; the others drop it once its gossip heartbeat expires), or its
// demand changes (a number of workers from 0 to 3 × the budget, or none).
// A join is as likely as a leave or a crash, and as a demand change. The
// first four events are a join, a demand change, a leave and a crash; at
// least one member always remains. The last event is watched for its
// full gap, past -duration.
//
// Meanwhile the server's connections are counted every 2 ms. After each
// event the run measures how long until the members settled again (every
// live member agrees with the others and holds its share) and stayed so
// until the next event, from the event's start; an event after which they
// had not settled when the next one came counts as not settled. It also
// counts how often the members, once settled, were unsettled again with no
// event between: a late effect of the event (a demand that fell a Window
// after its load did), or the allocation moving by itself. A sample above
// the budget is recorded with every member's budget status and pool stats
// at that moment.
//
// It prints a line per event, then the samples, the most connections seen,
// the samples above the budget, the events by kind and their convergence
// times, and as its last line "budgetchurn: N samples, max M of B, V over
// budget". It exits 1 if V > 0 or anything failed.
package main
