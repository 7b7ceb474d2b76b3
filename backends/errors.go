package backends

import "errors"

// ErrReplace marks an error from Reset or Ping that is an expected reason to
// replace a connection rather than a fault: a session the holder left in a
// state that cannot be cleaned (an open transaction, an unread result), or a
// connection the server closed for idleness. Wrap it (fmt.Errorf("...: %w",
// backends.ErrReplace) or errors.Join) and the pool still closes and
// replaces the connection, but logs it at Debug instead of Warn.
var ErrReplace = errors.New("backends: connection must be replaced")
