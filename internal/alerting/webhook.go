package alerting

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/rules"
)

// webhookMessage is Alertmanager's webhook payload (version 4), so that receivers written for
// Alertmanager's webhook_config work unchanged. One message carries the alerts of one rule
// from one evaluation, as the rules manager hands them over.
type webhookMessage struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []webhookAlert    `json:"alerts"`
}

type webhookAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"` // zero while firing, as in Alertmanager
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

const (
	statusFiring   = "firing"
	statusResolved = "resolved"
)

// webhookSender posts messages from a bounded queue on its own goroutine, so that a slow or
// dead receiver never holds up rule evaluation: when the queue is full, messages are dropped
// and counted.
type webhookSender struct {
	url         string
	externalURL string
	client      *http.Client
	logger      *slog.Logger

	attempts   int           // per message
	backoff    time.Duration // before the 2nd attempt, doubling
	maxBackoff time.Duration
	drainFor   time.Duration // on stop, how long queued messages may still take

	queue chan *webhookMessage
	stopc chan struct{}
	done  chan struct{}
	once  sync.Once

	sent, failed, dropped prometheus.Counter
}

func newWebhookSender(url, externalURL string, logger *slog.Logger, reg prometheus.Registerer) *webhookSender {
	w := &webhookSender{
		url:         url,
		externalURL: externalURL,
		client:      &http.Client{Timeout: 10 * time.Second},
		logger:      logger,
		attempts:    5,
		backoff:     500 * time.Millisecond,
		maxBackoff:  10 * time.Second,
		drainFor:    5 * time.Second,
		queue:       make(chan *webhookMessage, 1000),
		stopc:       make(chan struct{}),
		done:        make(chan struct{}),
		sent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "faultline_alerting_webhook_sent_total",
			Help: "Webhook messages (one per rule and evaluation) delivered with a 2xx answer.",
		}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "faultline_alerting_webhook_failed_total",
			Help: "Webhook messages given up on after every attempt failed.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "faultline_alerting_webhook_dropped_total",
			Help: "Webhook messages dropped because the send queue was full or Faultline was stopping.",
		}),
	}
	reg.MustRegister(w.sent, w.failed, w.dropped)
	return w
}

func (w *webhookSender) start() { go w.run() }

// stop sends what is queued (one attempt each, for at most drainFor) and returns when the
// sender's goroutine has ended. Safe to call more than once, and without start.
func (w *webhookSender) stop(started bool) {
	w.once.Do(func() { close(w.stopc) })
	if started {
		<-w.done
	}
}

// enqueue turns the rules manager's alerts for one rule into a message and queues it.
func (w *webhookSender) enqueue(expr string, alerts []*rules.Alert) {
	if len(alerts) == 0 {
		return
	}
	msg := w.message(expr, alerts)
	select {
	case <-w.stopc:
		w.dropped.Inc()
		return
	default:
	}
	select {
	case w.queue <- msg:
	default:
		w.dropped.Inc()
	}
}

func (w *webhookSender) message(expr string, alerts []*rules.Alert) *webhookMessage {
	msg := &webhookMessage{
		Version:     "4",
		Status:      statusResolved,
		Receiver:    "faultline-webhook",
		ExternalURL: w.externalURL,
		GroupLabels: map[string]string{},
	}
	var common, commonAnn labels.Labels
	for i, a := range alerts {
		wa := webhookAlert{
			Status:       statusFiring,
			Labels:       a.Labels.Map(),
			Annotations:  a.Annotations.Map(),
			StartsAt:     a.FiredAt,
			GeneratorURL: generatorURL(w.externalURL, expr),
			Fingerprint:  fmt.Sprintf("%016x", a.Labels.Hash()),
		}
		if !a.ResolvedAt.IsZero() {
			wa.Status = statusResolved
			wa.EndsAt = a.ResolvedAt
		} else {
			msg.Status = statusFiring
		}
		msg.Alerts = append(msg.Alerts, wa)
		if i == 0 {
			common, commonAnn = a.Labels, a.Annotations
		} else {
			common, commonAnn = intersect(common, a.Labels), intersect(commonAnn, a.Annotations)
		}
	}
	msg.CommonLabels, msg.CommonAnnotations = common.Map(), commonAnn.Map()
	if name := common.Get(labels.AlertName); name != "" {
		msg.GroupLabels[labels.AlertName] = name
	}
	msg.GroupKey = fmt.Sprintf("{}:{alertname=%q}", msg.GroupLabels[labels.AlertName])
	return msg
}

func intersect(a, b labels.Labels) labels.Labels {
	bld := labels.NewBuilder(labels.EmptyLabels())
	a.Range(func(l labels.Label) {
		if b.Get(l.Name) == l.Value {
			bld.Set(l.Name, l.Value)
		}
	})
	return bld.Labels()
}

func (w *webhookSender) run() {
	defer close(w.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-w.stopc:
		case <-ctx.Done():
		}
		// Stop retrying; what is left gets one attempt each during the drain below.
		cancel()
	}()
	for {
		select {
		case msg := <-w.queue:
			w.deliver(ctx, msg)
		case <-w.stopc:
			w.drain()
			return
		}
	}
}

func (w *webhookSender) drain() {
	ctx, cancel := context.WithTimeout(context.Background(), w.drainFor)
	defer cancel()
	for {
		select {
		case msg := <-w.queue:
			if ctx.Err() != nil {
				w.dropped.Inc()
				continue
			}
			if err := w.post(ctx, msg); err != nil {
				w.failed.Inc()
				w.logger.Warn("webhook delivery failed during shutdown", "url", w.url, "err", err)
			} else {
				w.sent.Inc()
			}
		default:
			return
		}
	}
}

// deliver tries a message up to w.attempts times with exponential backoff; ctx ends when the
// sender stops.
func (w *webhookSender) deliver(ctx context.Context, msg *webhookMessage) {
	backoff := w.backoff
	var err error
	for attempt := 1; attempt <= w.attempts; attempt++ {
		if err = w.post(ctx, msg); err == nil {
			w.sent.Inc()
			return
		}
		if attempt == w.attempts {
			break
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			// Stopping: give the message its one drain attempt.
			select {
			case w.queue <- msg:
			default:
				w.dropped.Inc()
			}
			return
		case <-t.C:
		}
		backoff = min(2*backoff, w.maxBackoff)
	}
	w.failed.Inc()
	w.logger.Warn("webhook delivery failed", "url", w.url, "attempts", w.attempts, "err", err)
}

func (w *webhookSender) post(ctx context.Context, msg *webhookMessage) error {
	b, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Faultline")
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}
