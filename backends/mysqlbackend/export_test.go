package mysqlbackend

// Classify exposes classify to the external tests: "none", "tx" or
// "session: <reason>".
func Classify(query string) string {
	switch eff, reason := classify(query); eff {
	case effectNone:
		return "none"
	case effectTx:
		return "tx"
	default:
		return "session: " + reason
	}
}
