module github.com/activitylog/activitylog

go 1.26.0

require github.com/elastic/go-elasticsearch/v8 v8.19.7
