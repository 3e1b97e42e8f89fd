package httpapi

// CursorPIT returns the point in time a cursor sealed under key carries in
// itself, or "" when it does not unseal or names one its instance keeps: the
// tests close it as Elasticsearch does when its keep-alive runs out, the
// benchmarks so that points in time do not pile up.
func CursorPIT(key []byte, cursor string) string {
	cl, ok := cursors{key: key}.unseal(cursor)
	if !ok {
		return ""
	}
	return cl.Pos.PIT
}
