// Package w3 holds W3, the pool's own cost: Acquire+Release on the memory
// backend, against puddle, database/sql and a buffered-channel pool, as a
// Go benchmark:
//
//	cd cmd && go test -run '^$' -bench AcquireRelease -benchmem -cpu 1,2 ./w3/
package w3
