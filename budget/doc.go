// Package budget shares one connection budget among the pools of the
// members of a protoactor cluster: every replica of a service joins its
// pool under the same budget name, and the pools together never have more
// connections open than the budget.
//
// There is no coordinator. Every member publishes its demand and claim
// through the cluster's gossip, computes the same allocation from the
// same view, shrinks to its share at once, and grows to it only when
// every other member reports that view and claims no more than its share
// in it. The members that share the budget are those the cluster's
// membership lists with the budget's Kind; a member keeps its share until
// it leaves (Leave) or the membership drops it.
//
// The package links protoactor's cluster, remote and grpc; users of
// actorpool that do not import it do not.
package budget
