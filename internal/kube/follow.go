package kube

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
)

// RetryInterval is how long a wait pauses before it lists again after the
// API server did not answer (restarting, unreachable for a while).
var RetryInterval = time.Second

// permanent says whether an answer of the API server will not change by
// asking again: the credentials may not, or the kind is not served.
func permanent(err error) bool {
	return apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) || apierrors.IsNotFound(err) ||
		apierrors.IsMethodNotSupported(err) || apierrors.IsBadRequest(err) || apierrors.IsInvalid(err)
}

// follow lists the objects matching the options, then watches them,
// calling onList with the listed objects and onEvent with each event,
// until one of them says done, returns an error, or ctx ends. A watch the
// server closes (a restart, a timeout, an expired resource version) is
// followed by a new list and watch; while the server does not answer, it
// tries again every RetryInterval. An answer that asking again cannot
// change (Forbidden, Unauthorized, a kind the server does not serve) ends
// the wait at once with the reason.
func (c *Client) follow(ctx context.Context, ri dynamic.ResourceInterface, what, namespace string, opts metav1.ListOptions,
	onList func([]unstructured.Unstructured) (bool, error), onEvent func(watch.Event) (bool, error)) error {
	var lastErr error
	fail := func(err error, doing string) error {
		if permanent(err) {
			return c.Explain(err, doing+" "+what, namespace)
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(RetryInterval):
			return nil
		}
	}
	for {
		if ctx.Err() != nil {
			if lastErr != nil {
				return fmt.Errorf("%w (the API server's last answer: %w)", ctx.Err(), c.Explain(lastErr, "watching "+what, namespace))
			}
			return ctx.Err()
		}
		list, err := ri.List(ctx, opts)
		if err != nil {
			if e := fail(err, "listing"); e != nil {
				return e
			}
			continue
		}
		lastErr = nil
		if done, err := onList(list.Items); done || err != nil {
			return err
		}
		wopts := opts
		wopts.ResourceVersion = list.GetResourceVersion()
		wopts.AllowWatchBookmarks = true
		w, err := ri.Watch(ctx, wopts)
		if err != nil {
			if e := fail(err, "watching"); e != nil {
				return e
			}
			continue
		}
		done, err := drain(ctx, w, onEvent)
		w.Stop()
		if done || err != nil {
			if permanent(err) {
				return c.Explain(err, "watching "+what, namespace)
			}
			return err
		}
		// The watch ended: list again.
	}
}

// drain passes a watch's events on until done, an error, the watch's end
// (done false, no error) or ctx's.
func drain(ctx context.Context, w watch.Interface, onEvent func(watch.Event) (bool, error)) (bool, error) {
	for {
		select {
		case <-ctx.Done():
			return false, nil
		case ev, ok := <-w.ResultChan():
			if !ok {
				return false, nil
			}
			switch ev.Type {
			case watch.Bookmark:
				continue
			case watch.Error:
				err := apierrors.FromObject(ev.Object)
				if permanent(err) {
					return false, err
				}
				return false, nil // expired or interrupted: list again
			}
			if done, err := onEvent(ev); done || err != nil {
				return done, err
			}
		}
	}
}

// FailFastAfter is how long a state that cannot resolve itself must last
// before a wait gives up with its cause: an image that cannot be pulled, a
// container that keeps crashing or lacks its configuration, a controller
// that does not act. CheckInterval is how often a wait looks.
var (
	FailFastAfter = time.Minute
	CheckInterval = 5 * time.Second
)

// failFast is a wait's verdict that it cannot succeed.
type failFast struct{ error }

// watchdog runs check every CheckInterval while a wait goes on; the first
// error it returns ends the wait (see waitFor).
func watchdog(ctx context.Context, cancel context.CancelCauseFunc, check func(context.Context) error) {
	t := time.NewTicker(CheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := check(ctx); err != nil {
				cancel(failFast{err})
				return
			}
		}
	}
}

// persistent remembers since when conditions have held, so a check can
// tell a passing state from one that lasts.
type persistent map[string]time.Time

// lasting records that the condition key holds now and says whether it has
// held for FailFastAfter; conditions not seen in a check are forgotten by
// keep.
func (p persistent) lasting(key string, now time.Time) bool {
	first, ok := p[key]
	if !ok {
		p[key] = now
		return FailFastAfter <= 0
	}
	return now.Sub(first) >= FailFastAfter
}

// keep forgets every condition but those in seen.
func (p persistent) keep(seen map[string]bool) {
	for k := range p {
		if !seen[k] {
			delete(p, k)
		}
	}
}

func asFailFast(err error) (error, bool) {
	var f failFast
	if errors.As(err, &f) {
		return f.error, true
	}
	return nil, false
}
