package activityprocessor

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.uber.org/zap"

	"github.com/activitylog/activitylog/processor/activityprocessor/internal/metadata"
	"github.com/activitylog/activitylog/processor/activityprocessor/internal/recordid"
	"github.com/activitylog/activitylog/schema"
)

// activityProcessor holds one pipeline's processor state. processLogs is
// safe for concurrent use.
type activityProcessor struct {
	namespace string
	telemetry *metadata.TelemetryBuilder
	logger    *zap.Logger
}

func newActivityProcessor(cfg *Config, set processor.Settings) (*activityProcessor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, fmt.Errorf("creating telemetry: %w", err)
	}
	return &activityProcessor{
		namespace: cfg.namespace(),
		telemetry: tb,
		logger:    set.Logger,
	}, nil
}

func (p *activityProcessor) shutdown(context.Context) error {
	p.telemetry.Shutdown()
	return nil
}

// processLogs applies the processor to every record of ld, in place.
func (p *activityProcessor) processLogs(_ context.Context, ld plog.Logs) (plog.Logs, error) {
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				p.route(lrs.At(k))
			}
		}
	}
	return ld, nil
}

// isRoutingAttr reports whether key is one of the routing attributes the
// processor owns; they are excluded from a derived id because the processor
// overwrites them anyway.
func isRoutingAttr(key string) bool {
	switch key {
	case schema.AttrDataStreamType, schema.AttrDataStreamDataset, schema.AttrDataStreamNamespace, schema.AttrDocumentID:
		return true
	}
	return false
}

// route sets the data stream and document id of lr. Routing attributes sent
// by the emitter are overwritten, so no emitter can write into another
// index. A record without a usable activity.id gets a deterministic one.
func (p *activityProcessor) route(lr plog.LogRecord) {
	attrs := lr.Attributes()
	id := ""
	if v, ok := attrs.Get(schema.AttrID); ok {
		id = v.AsString()
	}
	if !validID(id) {
		id = recordid.Derive(lr, func(k string) bool { return k == schema.AttrID || isRoutingAttr(k) })
	}
	// Written back even when present, so a non-string id becomes the string
	// the keyword field and the document id agree on.
	attrs.PutStr(schema.AttrID, id)
	attrs.PutStr(schema.AttrDataStreamType, schema.DataStreamType)
	attrs.PutStr(schema.AttrDataStreamDataset, schema.Dataset)
	attrs.PutStr(schema.AttrDataStreamNamespace, p.namespace)
	attrs.PutStr(schema.AttrDocumentID, id)
}

// maxIDLen bounds an emitter-supplied id: Elasticsearch refuses _id values
// longer than 512 bytes.
const maxIDLen = 512

// validID reports whether an emitter-supplied id can be used as a document
// id as it is.
func validID(id string) bool {
	if id == "" || len(id) > maxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x20 || id[i] == 0x7f {
			return false
		}
	}
	return true
}
