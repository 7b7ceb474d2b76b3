// Package rediscluster pools the connections of a Redis Cluster: one
// actorpool pool per node, and go-redis's cluster client to route.
//
// Cluster reads the topology from its seeds (CLUSTER SLOTS), keeps a pool
// per node it learns of, and routes:
//
//   - command mode: Commands is a *redis.ClusterClient, the whole go-redis
//     API, whose every node client is that node's pool in command mode
//     (redisbackend.Commands). go-redis computes each command's slot (hash
//     tags honoured), splits a pipeline by node, follows MOVED (and
//     re-reads the slot map) and ASK (ASKING and the command, together on
//     one connection), retries TRYAGAIN and CLUSTERDOWN with backoff, and
//     refuses multi-key commands across slots as it always does. A
//     pipelined command redirected while its slot moves is run again on
//     its new owner, so a resharding returns no error to callers.
//   - lease mode: AcquireFor and WithKey lease a connection of the node
//     that serves a key's slot, for what command mode does not run
//     (blocking commands, WATCH, session state). A command on such a
//     lease that meets MOVED returns it: lease again.
//
// Limits are per node: Config.Pool (MaxConns, MinConns, timeouts) applies
// to each node's pool, so the cluster holds at most MaxConns connections
// to each node, and a budget given in Config.Pool is shared by the pools
// as it is by any pools (the cluster's nodes are its members). Each
// pool is named after its node (redis://host:port/0), in Stats and in the
// OpenTelemetry metrics.
package rediscluster
