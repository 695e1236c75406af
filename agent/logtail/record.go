package logtail

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// Attribute keys the tailer sets on every record (OpenTelemetry semantic conventions).
const (
	AttrFilePath = "log.file.path"
	AttrFileName = "log.file.name"
)

// Record is one log record read from a file: a line, or several lines joined with "\n" when
// multi-line records are configured.
type Record struct {
	// Time is the time the record carries (JSON time field, a leading timestamp, or a
	// time= pair; local time when it names no zone); zero when it has none.
	Time time.Time
	// ObservedTime is when the tailer read the record.
	ObservedTime time.Time
	Body         string
	SeverityText string
	// SeverityNumber is the OTLP severity; SeverityNumberUnspecified when no level was found.
	SeverityNumber plog.SeverityNumber
	// TraceID and SpanID are zero when the record names none (or an invalid one).
	TraceID [16]byte
	SpanID  [8]byte
	// Service is the service the record names (JSON service / service.name), else "".
	Service string
	// Attributes are the JSON fields not lifted into the fields above (nested objects
	// flattened with dots; values are string, int64, float64, bool, nil, []any or
	// map[string]any), plus log.file.path and log.file.name.
	Attributes map[string]any
}

// Batch is what the tailer hands to emit at once.
type Batch struct {
	Records []Record
}

// File is the path of the file the record was read from (its log.file.path attribute): the
// path the file had when the tailer found it, kept after a rename.
func (r *Record) File() string {
	s, _ := r.Attributes[AttrFilePath].(string)
	return s
}

// CopyTo fills lr from the record. Service is not copied: it belongs on the resource.
func (r *Record) CopyTo(lr plog.LogRecord) {
	if !r.Time.IsZero() {
		lr.SetTimestamp(pcommon.NewTimestampFromTime(r.Time))
	}
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(r.ObservedTime))
	lr.Body().SetStr(r.Body)
	lr.SetSeverityText(r.SeverityText)
	lr.SetSeverityNumber(r.SeverityNumber)
	lr.SetTraceID(r.TraceID)
	lr.SetSpanID(r.SpanID)
	attrs := lr.Attributes()
	attrs.EnsureCapacity(len(r.Attributes))
	for k, v := range r.Attributes {
		putAttr(attrs, k, v)
	}
}

func putAttr(m pcommon.Map, k string, v any) {
	switch v := v.(type) {
	case string:
		m.PutStr(k, v)
	case int64:
		m.PutInt(k, v)
	case float64:
		m.PutDouble(k, v)
	case bool:
		m.PutBool(k, v)
	case nil:
		m.PutEmpty(k)
	default:
		// []any and map[string]any: FromRaw handles every type the JSON reader produces.
		if err := m.PutEmpty(k).FromRaw(v); err != nil {
			m.Remove(k)
		}
	}
}
