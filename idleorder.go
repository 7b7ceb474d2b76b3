package actorpool

// IdleOrder is the order a pool lends its idle connections in
// (Config.IdleOrder).
type IdleOrder int

const (
	// LIFO lends the most recently used idle connection first: under light
	// load few connections stay in use, and the others sit idle until
	// IdleTimeout retires them.
	LIFO IdleOrder = iota
	// FIFO lends the connection idle longest first: use spreads over every
	// connection, as go-redis's PoolFIFO, and none sits idle long enough
	// to need a check before lending while the pool is busy.
	FIFO
)
