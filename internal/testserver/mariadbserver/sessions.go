package mariadbserver

// This file is the process-list helpers: the sessions of a user, and
// KillSession, which ends one as KILL does.

import (
	"context"
	"fmt"
	"strconv"
)

// Sessions returns the ids of the server sessions of user, from the process
// list. With user "", it counts the sessions of the harness's own user.
func (s *Server) Sessions(ctx context.Context, user string) ([]int64, error) {
	if user == "" {
		user = s.user
	}
	rows, err := s.admin.QueryContext(ctx,
		"SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ? ORDER BY ID", user)
	if err != nil {
		return nil, fmt.Errorf("mariadbserver: process list: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// SessionCount returns how many server sessions the harness's user has.
func (s *Server) SessionCount(ctx context.Context) (int, error) {
	ids, err := s.Sessions(ctx, "")
	return len(ids), err
}

// KillSession ends one server session, as KILL <id> does.
func (s *Server) KillSession(ctx context.Context, id int64) error {
	_, err := s.admin.ExecContext(ctx, "KILL CONNECTION "+strconv.FormatInt(id, 10))
	return err
}
