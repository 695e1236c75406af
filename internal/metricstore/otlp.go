package metricstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/prometheus/common/model"
	"github.com/prometheus/otlptranslator"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/storage/remote/otlptranslator/prometheusremotewrite"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// Stats is what one WriteOTLP call did. Points are OTLP data points (a classic histogram
// point is one point, though it becomes many samples); Series counts the distinct Prometheus
// series written to (bucket series included, target_info excluded).
type Stats struct {
	Points  int // data points stored
	Series  int // distinct series appended to
	Dropped int // data points refused; see faultline_metric_points_refused_total for why
}

// Reasons a data point is refused (values of the reason label).
const (
	ReasonDeltaTemporality   = "delta_temporality"   // delta sums/histograms: not stored, see WriteOTLP
	ReasonInvalidTemporality = "invalid_temporality" // temporality unspecified
	ReasonInvalidName        = "invalid_name"        // metric name empty or invalid after translation
	ReasonUnsupportedType    = "unsupported_type"    // metric with no type
	ReasonTooOld             = "too_old"             // older than the out-of-order window / head
	ReasonOutOfOrder         = "out_of_order"
	ReasonDuplicate          = "duplicate"         // same series and timestamp, different value
	ReasonInvalidHistogram   = "invalid_histogram" // failed native histogram validation
	ReasonInvalidSeries      = "invalid_series"    // labels the TSDB refuses (e.g. duplicate names)
	ReasonTranslation        = "translation"       // the translator gave up on the rest of a metric
	ReasonStorage            = "storage"           // the commit failed: the whole batch is lost
)

var refusalReasons = [...]string{
	ReasonDeltaTemporality, ReasonInvalidTemporality, ReasonInvalidName, ReasonUnsupportedType,
	ReasonTooOld, ReasonOutOfOrder, ReasonDuplicate, ReasonInvalidHistogram, ReasonInvalidSeries,
	ReasonTranslation, ReasonStorage,
}

// translatorSettings mirrors Prometheus's OTLP endpoint with translation_strategy
// UnderscoreEscapingWithSuffixes (its default): classic metric and label names, unit and
// _total suffixes, job/instance from service.name(+service.namespace)/service.instance.id,
// the other resource attributes on target_info; service.name and host.name are also promoted to
// labels of every series (service_name, host_name), so metrics join with spans and logs.
func translatorSettings(cfg Config) prometheusremotewrite.Settings {
	return prometheusremotewrite.Settings{
		AddMetricSuffixes: true,
		AllowUTF8:         false,
		PromoteResourceAttributes: prometheusremotewrite.NewPromoteResourceAttributes(config.OTLPConfig{
			PromoteResourceAttributes: []string{"service.name", "host.name"},
		}),
		KeepIdentifyingResourceAttributes: false,
		ConvertHistogramsToNHCB:           cfg.OTLPHistogramsAsNHCB,
		AllowDeltaTemporality:             false, // refused and counted: see WriteOTLP
		LookbackDelta:                     cfg.LookbackDelta,
		DisableTargetInfo:                 false,
	}
}

// WriteOTLP converts OTLP metrics into Prometheus series with Prometheus's own OTLP translator
// and appends them in one transaction.
//
// Per-point problems do not fail the call: the point is dropped and counted in
// faultline_metric_points_refused_total{reason} (and Stats.Dropped). In particular:
//   - delta temporality (sums, histograms, exponential histograms) is refused with reason
//     delta_temporality. Prometheus stores deltas only with an experimental flag whose values
//     rate() misreads, or after a stateful delta-to-cumulative processor; Faultline's agent and
//     the OpenTelemetry SDKs' defaults export cumulative, so deltas are counted, not guessed at.
//   - samples older than the out-of-order window (OutOfOrderWindow behind the newest sample)
//     are refused as too_old; a late point inside the window is stored.
//   - NaN values are stored (they are valid samples); a point flagged "no recorded value"
//     becomes a staleness marker, as Prometheus does.
//
// An error is returned only when nothing could be stored: the context ended or the commit
// failed; then every point of the call is counted as refused with reason storage.
func (s *Store) WriteOTLP(ctx context.Context, md pmetric.Metrics) (Stats, error) {
	acc := accounting{}
	acc.preScan(md)
	if acc.received == 0 {
		return Stats{}, nil
	}
	s.pointsReceived.Add(float64(acc.received))

	app := &countingAppender{AppenderV2: s.db.AppenderV2(ctx), acc: &acc}
	conv := s.converters.Get().(*prometheusremotewrite.PrometheusConverter)
	conv.Reset(app)
	_, convErr := conv.FromMetrics(ctx, md, s.otlpSettings)
	conv.Reset(nil)
	s.converters.Put(conv)

	if err := ctx.Err(); err != nil {
		// The translator stopped part-way; store nothing rather than an arbitrary prefix.
		_ = app.Rollback()
		s.pointsRefused.WithLabelValues(ReasonStorage).Add(float64(acc.received))
		return Stats{Dropped: acc.received}, fmt.Errorf("write otlp metrics: %w", err)
	}
	if err := app.Commit(); err != nil {
		s.pointsRefused.WithLabelValues(ReasonStorage).Add(float64(acc.received))
		return Stats{Dropped: acc.received}, fmt.Errorf("commit otlp metrics: %w", err)
	}

	// Whatever was neither stored nor refused for a known reason was skipped by the
	// translator (it abandons the rest of a metric on an error such as an invalid label name).
	if rest := acc.received - acc.stored - acc.refusedTotal(); rest > 0 {
		acc.refused[reasonIndex(ReasonTranslation)] += rest
	}
	if convErr != nil && acc.refused[reasonIndex(ReasonTranslation)] > 0 {
		s.logger.Debug("OTLP metrics partly not translated", "err", convErr)
	}
	s.pointsStored.Add(float64(acc.stored))
	for i, n := range acc.refused {
		if n > 0 {
			s.pointsRefused.WithLabelValues(refusalReasons[i]).Add(float64(n))
		}
	}
	return Stats{Points: acc.stored, Series: len(app.series), Dropped: acc.refusedTotal()}, nil
}

// accounting keeps the point counts of one WriteOTLP call.
type accounting struct {
	received int
	stored   int
	refused  [len(refusalReasons)]int
}

func reasonIndex(reason string) int {
	for i, r := range refusalReasons {
		if r == reason {
			return i
		}
	}
	panic("unknown refusal reason " + reason)
}

func (a *accounting) refusedTotal() int {
	n := 0
	for _, r := range a.refused {
		n += r
	}
	return n
}

var namer = otlptranslator.MetricNamer{WithMetricSuffixes: true}

// preScan counts the data points and refuses, up front, the metrics the translator would skip
// whole (it reports them only as a joined error).
func (a *accounting) preScan(md pmetric.Metrics) {
	rms := md.ResourceMetrics()
	for i := range rms.Len() {
		sms := rms.At(i).ScopeMetrics()
		for j := range sms.Len() {
			ms := sms.At(j).Metrics()
			for k := range ms.Len() {
				m := ms.At(k)
				n, temporality := pointsOf(m)
				a.received += n
				if n == 0 {
					continue
				}
				switch {
				case m.Type() == pmetric.MetricTypeEmpty:
					a.refused[reasonIndex(ReasonUnsupportedType)] += n
				case temporality == pmetric.AggregationTemporalityDelta:
					a.refused[reasonIndex(ReasonDeltaTemporality)] += n
				case temporality == pmetric.AggregationTemporalityUnspecified:
					a.refused[reasonIndex(ReasonInvalidTemporality)] += n
				default:
					if name, err := namer.Build(prometheusremotewrite.TranslatorMetricFromOtelMetric(m)); err != nil || name == "" {
						a.refused[reasonIndex(ReasonInvalidName)] += n
					}
				}
			}
		}
	}
}

// pointsOf returns a metric's number of data points and its temporality (cumulative for
// types that have none).
func pointsOf(m pmetric.Metric) (int, pmetric.AggregationTemporality) {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return m.Gauge().DataPoints().Len(), pmetric.AggregationTemporalityCumulative
	case pmetric.MetricTypeSum:
		return m.Sum().DataPoints().Len(), m.Sum().AggregationTemporality()
	case pmetric.MetricTypeHistogram:
		return m.Histogram().DataPoints().Len(), m.Histogram().AggregationTemporality()
	case pmetric.MetricTypeExponentialHistogram:
		return m.ExponentialHistogram().DataPoints().Len(), m.ExponentialHistogram().AggregationTemporality()
	case pmetric.MetricTypeSummary:
		return m.Summary().DataPoints().Len(), pmetric.AggregationTemporalityCumulative
	}
	return 0, pmetric.AggregationTemporalityUnspecified
}

// countingAppender sits between the translator and the TSDB. It swallows per-sample errors
// (so one late point does not make the translator abandon the rest of its metric), and counts
// stored and refused points: one sample stands for each point — the sample itself for gauges,
// sums and native histograms, the _count sample for classic histograms and summaries (the
// translator always writes it); target_info samples are not OTLP points and are not counted.
type countingAppender struct {
	storage.AppenderV2
	acc    *accounting
	series map[storage.SeriesRef]struct{}
}

func (a *countingAppender) Append(ref storage.SeriesRef, ls labels.Labels, st, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram, opts storage.AOptions) (storage.SeriesRef, error) {
	ref, err := a.AppenderV2.Append(ref, ls, st, t, v, h, fh, opts)
	if err != nil {
		var partial *storage.AppendPartialError
		if errors.As(err, &partial) {
			err = nil // the sample is in; only exemplars were refused
		}
	}
	counts := a.representsPoint(ls, h, fh, opts)
	if err != nil {
		if counts {
			a.acc.refused[reasonIndex(classify(err))]++
		}
		// Tell the translator nothing: it would abandon the metric's remaining points.
		return 0, nil
	}
	if counts {
		a.acc.stored++
	}
	if opts.MetricFamilyName != targetInfo || opts.Metadata.Help != targetInfoHelp {
		if a.series == nil {
			a.series = make(map[storage.SeriesRef]struct{})
		}
		a.series[ref] = struct{}{}
	}
	return ref, nil
}

const (
	targetInfo     = "target_info"
	targetInfoHelp = "Target metadata"
)

func (*countingAppender) representsPoint(ls labels.Labels, h *histogram.Histogram, fh *histogram.FloatHistogram, opts storage.AOptions) bool {
	switch opts.Metadata.Type {
	case model.MetricTypeHistogram, model.MetricTypeSummary:
		if h != nil || fh != nil {
			return true // native histogram: one sample per point
		}
		name := ls.Get(model.MetricNameLabel)
		return len(name) == len(opts.MetricFamilyName)+len("_count") &&
			name[len(opts.MetricFamilyName):] == "_count"
	case model.MetricTypeGauge:
		return opts.MetricFamilyName != targetInfo || opts.Metadata.Help != targetInfoHelp
	default:
		return true
	}
}

// classify maps a sample's append error to a refusal reason. Every error the head appender
// returns from Append is about the sample or its labels; storage failures surface at Commit.
func classify(err error) string {
	switch {
	case errors.Is(err, storage.ErrTooOldSample), errors.Is(err, storage.ErrOutOfBounds):
		return ReasonTooOld
	case errors.Is(err, storage.ErrOutOfOrderSample):
		return ReasonOutOfOrder
	case errors.Is(err, storage.ErrDuplicateSampleForTimestamp):
		return ReasonDuplicate
	case isHistogramError(err), errors.Is(err, storage.ErrNativeHistogramsDisabled):
		return ReasonInvalidHistogram
	default:
		// e.g. "label set has duplicate label names", an empty label set.
		return ReasonInvalidSeries
	}
}

func isHistogramError(err error) bool {
	var he histogram.Error
	return errors.As(err, &he)
}
