// Package httpmw is net/http middleware that records where each request
// came from in its context, for the activity records made while serving it:
// the client's IP address, its User-Agent and a request id.
//
// The client address is the connection's peer address unless that peer is
// one of the configured trusted proxies; only then is the forwarding header
// those proxies write (X-Forwarded-For by default, or the RFC 7239 Forwarded
// header) read, right to left, skipping trusted proxies, so a client cannot
// choose the address it is recorded under by sending the header itself. With
// no trusted proxies configured (the default) no header is ever read.
package httpmw
