package redisserver

// This file is how a test looks at the server from the side: the observer
// client and CLIENT LIST.

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Observer returns a go-redis client for looking at the server from the side
// (CLIENT LIST, CLIENT KILL, DEBUG). Its one connection is named ObserverName.
// It reconnects by itself after Restart. It is closed by Stop.
func (s *Server) Observer() *redis.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.observer == nil {
		s.observer = redis.NewClient(&redis.Options{
			Addr:                     s.Addr(),
			Password:                 s.password,
			ClientName:               ObserverName,
			TLSConfig:                s.TLSConfig(),
			PoolSize:                 1,
			DisableIdentity:          true,
			MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
		})
	}
	return s.observer
}

// ClientInfo is one line of CLIENT LIST.
type ClientInfo struct {
	ID     int64
	Addr   string // the client's address as the server sees it
	Name   string
	DB     int
	Flags  string // "N" for a plain client, "P" for pub/sub, "x" in MULTI
	Multi  int    // commands queued in MULTI, -1 outside MULTI
	Sub    int    // subscribed channels
	PSub   int    // subscribed patterns
	Cmd    string // last command
	Fields map[string]string
}

// Clients returns the server's client connections, leaving out the observer
// itself. It can be called from any goroutine (in an assert.Eventually, for
// instance).
func (s *Server) Clients(ctx context.Context) ([]ClientInfo, error) {
	out, err := s.Observer().ClientList(ctx).Result()
	if err != nil {
		return nil, fmt.Errorf("redisserver: CLIENT LIST: %w", err)
	}
	var clients []ClientInfo
	for line := range strings.Lines(out) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		ci := parseClientLine(line)
		if ci.Name == ObserverName {
			continue
		}
		clients = append(clients, ci)
	}
	return clients, nil
}

// ClientCount is len(Clients).
func (s *Server) ClientCount(ctx context.Context) (int, error) {
	cs, err := s.Clients(ctx)
	return len(cs), err
}

func parseClientLine(line string) ClientInfo {
	ci := ClientInfo{Fields: make(map[string]string)}
	for _, f := range strings.Fields(line) {
		k, v, _ := strings.Cut(f, "=")
		ci.Fields[k] = v
	}
	atoi := func(k string) int { n, _ := strconv.Atoi(ci.Fields[k]); return n }
	ci.ID, _ = strconv.ParseInt(ci.Fields["id"], 10, 64)
	ci.Addr = ci.Fields["addr"]
	ci.Name = ci.Fields["name"]
	ci.DB = atoi("db")
	ci.Flags = ci.Fields["flags"]
	ci.Multi = atoi("multi")
	ci.Sub = atoi("sub")
	ci.PSub = atoi("psub")
	ci.Cmd = ci.Fields["cmd"]
	return ci
}
