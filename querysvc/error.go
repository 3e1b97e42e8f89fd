package querysvc

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status in httpapi.
const (
	CodeInvalid      = "invalid"            // a parameter is malformed (400)
	CodeUnauthorized = "unauthorized"       // no valid token (401)
	CodeForbidden    = "forbidden"          // the principal may not do this (403)
	CodeNotFound     = "not_found"          // no such record visible to the principal (404)
	CodeMethod       = "method_not_allowed" // anything but GET: the API is read-only (405)
	CodeRateLimited  = "rate_limited"       // too many requests (429)
	CodeUnavailable  = "unavailable"        // Elasticsearch cannot be reached (503)
	CodeTimeout      = "timeout"            // the request ran out of time (504)
	CodeInternal     = "internal"           // anything else (500)
)

// Error is the application error: a code for the caller to branch on and a
// message safe to show them. Internal details stay in the wrapped error,
// which is logged and never returned to the caller.
type Error struct {
	Code    string
	Message string
	Err     error
}

// Error returns the message, and the wrapped error when there is one.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the wrapped internal error.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error with code and message wrapping err.
func Wrap(code, message string, err error) *Error {
	return &Error{Code: code, Message: message, Err: err}
}

// ErrorCode returns the code of the first *Error in err's chain, "" for a
// nil error, or CodeInternal when the chain holds no *Error.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessage returns the caller-safe message of the first *Error in err's
// chain, or a generic message when there is none.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
