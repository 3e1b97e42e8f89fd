// Package httpmw is net/http middleware that records where each request
// came from in its context, for the activity records made while serving it:
// the client's IP address, its User-Agent and a request id.
//
// The client address is the connection's peer address unless that peer is
// one of the configured trusted proxies; only then are the Forwarded (RFC
// 7239) and X-Forwarded-For headers read, right to left, skipping trusted
// proxies, so a client cannot choose the address it is recorded under by
// sending the headers itself. With no trusted proxies configured (the
// default) the headers are never read.
package httpmw
