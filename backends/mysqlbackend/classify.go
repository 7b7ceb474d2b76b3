package mysqlbackend

// effect is what a statement may leave on its session once it has run.
type effect uint8

const (
	// effectNone: the statement reads or writes rows and leaves nothing on
	// the session (with autocommit on, its changes are committed already).
	effectNone effect = iota
	// effectTx: the statement may leave a transaction open; ROLLBACK undoes
	// it.
	effectTx
	// effectSession: the statement may change session state that only a
	// new session is sure to undo (variables, temporary tables, locks, the
	// default database, SQL-level prepared statements).
	effectSession
)

// classify tells what query may leave on the session, and for effectSession
// a short reason. It errs on the side of effectSession: a false alarm costs
// one reconnect, a miss would hand state to the next holder.
//
// It does not parse quotes: an '@', GET_LOCK or a ';' inside a string
// literal is taken at face value (queries should pass values as arguments,
// which classify never sees). Every statement of a multi-statement query is
// classified, by its first keyword:
//
//   - SELECT, INSERT, UPDATE, DELETE, REPLACE, WITH, VALUES, TABLE, SHOW,
//     DESCRIBE, DESC, EXPLAIN, DO, HELP, UNLOCK, KILL, and DDL (CREATE,
//     DROP, ALTER, TRUNCATE, RENAME, ANALYZE, OPTIMIZE, REPAIR, CHECK,
//     CHECKSUM) that does not say TEMPORARY: none;
//   - BEGIN, START, COMMIT, ROLLBACK, SAVEPOINT, RELEASE: transaction
//     (BEGIN NOT ATOMIC, a MariaDB compound statement, is session);
//   - anything else (SET, USE, CALL, LOCK, PREPARE, EXECUTE, HANDLER, XA,
//     LOAD, ...): session.
//
// Anywhere in the text, a user variable ('@' not part of '@@'), GET_LOCK, or
// an executable comment ("/*!", "/*M!") makes it session.
func classify(query string) (effect, string) {
	eff := effectNone
	temporary := containsFold(query, "temporary")
	for i := 0; i < len(query); i++ {
		switch c := query[i]; c {
		case '@':
			if i+1 < len(query) && query[i+1] == '@' {
				i++ // a system variable such as @@autocommit
				continue
			}
			return effectSession, "user variable"
		case '/':
			if hasPrefixAt(query, i, "/*!") || hasPrefixAt(query, i, "/*M!") {
				return effectSession, "executable comment"
			}
		case 'g', 'G':
			if hasPrefixFoldAt(query, i, "get_lock") {
				return effectSession, "GET_LOCK"
			}
		}
	}
	// Classify each statement by its first keyword.
	for start := 0; start <= len(query); {
		end := indexByteFrom(query, start, ';')
		stmt := query[start:end]
		kw, rest := firstKeyword(stmt)
		switch e, r := keywordEffect(kw, rest, temporary); {
		case e == effectSession:
			return effectSession, r
		case e > eff:
			eff = e
		}
		start = end + 1
	}
	return eff, ""
}

// keywordEffect classifies one statement by its first keyword (upper case);
// rest is the text after it.
func keywordEffect(kw, rest string, temporary bool) (effect, string) {
	switch kw {
	case "", "SELECT", "INSERT", "UPDATE", "DELETE", "REPLACE", "WITH", "VALUES", "TABLE",
		"SHOW", "DESCRIBE", "DESC", "EXPLAIN", "DO", "HELP", "UNLOCK", "KILL":
		return effectNone, ""
	case "CREATE", "DROP", "ALTER", "TRUNCATE", "RENAME", "ANALYZE", "OPTIMIZE", "REPAIR", "CHECK", "CHECKSUM":
		if temporary {
			return effectSession, kw + " TEMPORARY"
		}
		return effectNone, ""
	case "BEGIN":
		if next, _ := firstKeyword(rest); next == "NOT" {
			return effectSession, "BEGIN NOT ATOMIC"
		}
		return effectTx, ""
	case "START", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE":
		return effectTx, ""
	default:
		return effectSession, kw
	}
}

// firstKeyword returns the first word of stmt in upper case, skipping
// spaces, comments and opening parentheses, and the text after it.
func firstKeyword(stmt string) (string, string) {
	i := 0
	for i < len(stmt) {
		switch c := stmt[i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '(':
			i++
		case c == '#' || hasPrefixAt(stmt, i, "--"):
			for i < len(stmt) && stmt[i] != '\n' {
				i++
			}
		case hasPrefixAt(stmt, i, "/*"):
			end := indexFrom(stmt, i+2, "*/")
			if end < 0 {
				return "", ""
			}
			i = end + 2
		default:
			j := i
			for j < len(stmt) && isWordByte(stmt[j]) {
				j++
			}
			if j == i {
				// Not a word (a quote, a digit...): unknown statement.
				return "?", stmt[i:]
			}
			return upper(stmt[i:j]), stmt[j:]
		}
	}
	return "", ""
}

func isWordByte(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func upper(s string) string {
	for i := 0; i < len(s); i++ {
		if 'a' <= s[i] && s[i] <= 'z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'a' <= b[j] && b[j] <= 'z' {
					b[j] -= 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

func hasPrefixAt(s string, i int, prefix string) bool {
	return len(s)-i >= len(prefix) && s[i:i+len(prefix)] == prefix
}

// hasPrefixFoldAt reports whether s[i:] starts with prefix, ignoring ASCII
// case; prefix must be lower case.
func hasPrefixFoldAt(s string, i int, prefix string) bool {
	if len(s)-i < len(prefix) {
		return false
	}
	for j := 0; j < len(prefix); j++ {
		c := s[i+j]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[j] {
			return false
		}
	}
	return true
}

// containsFold reports whether s contains the lower-case word, ignoring
// ASCII case.
func containsFold(s, word string) bool {
	for i := 0; i+len(word) <= len(s); i++ {
		if hasPrefixFoldAt(s, i, word) {
			return true
		}
	}
	return false
}

func indexByteFrom(s string, from int, c byte) int {
	for i := from; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return len(s)
}

func indexFrom(s string, from int, sub string) int {
	for i := from; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}
