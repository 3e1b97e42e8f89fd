// Command querysvc serves the activity log's role-scoped search and analytics
// API over Elasticsearch (see querysvc/README.md for every setting).
//
//	querysvc [flags]                 serve
//	querysvc token [flags]           print a signed HS256 token (demo and operator use)
package main
